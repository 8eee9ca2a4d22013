from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """django.contrib.admin, with the site of crm/admin_site.py (signed in through allauth) as `admin.site`."""

    default_site = "crm.admin_site.AdminSite"
