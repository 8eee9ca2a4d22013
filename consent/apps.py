from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent"

    def ready(self):
        from crm.erasure import register_eraser, register_export_section
        from crm.events import organization_created
        from crm.panels import register_candidate_panel

        from . import rights, views

        register_eraser("consent.evidence", rights.erase_consent, order=30)
        register_export_section("consent", rights.export_consent, order=20)

        organization_created.connect(_defaults, dispatch_uid="consent.defaults")
        register_candidate_panel("consent", order=20, render=views.consent_panel)


def _defaults(sender, *, organization, **kwargs):
    from .services import purposes_create_defaults

    purposes_create_defaults(organization)
