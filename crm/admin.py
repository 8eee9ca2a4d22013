from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import AccountEmail, ApiKey, AuditEvent, Invitation, Membership, Organization, User


class TenantAdmin(admin.ModelAdmin):
    """Operators see every tenant: the admin reads through the unscoped manager."""

    def get_queryset(self, request):
        return self.model.all_tenants.select_related("organization")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "last_login"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Name", {"fields": ["first_name", "last_name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "created_at", "deletion_requested_at"]
    search_fields = ["name", "slug"]


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__slug"]


@admin.register(Invitation)
class InvitationAdmin(TenantAdmin):
    list_display = ["email", "organization", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    exclude = ["token_hash"]


@admin.register(AccountEmail)
class AccountEmailAdmin(TenantAdmin):
    """Read-only: what was sent to whom, and why an email was not; the body (a one-time link) is not shown."""

    list_display = ["created_at", "to_email", "subject", "organization", "status", "attempts", "last_error", "sent_at"]
    list_filter = ["status"]
    search_fields = ["to_email", "subject"]
    exclude = ["body"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(TenantAdmin):
    list_display = ["name", "organization", "scope", "created_by", "created_at", "last_used_at", "revoked_at"]
    exclude = ["key_hash"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is evidence."""

    list_display = ["created_at", "organization_name", "actor_label", "action", "object_type", "object_repr"]
    list_filter = ["action"]
    search_fields = ["actor_label", "object_repr", "organization_name", "action"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
