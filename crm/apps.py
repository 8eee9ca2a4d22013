from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Silverpool core"

    def ready(self):
        from . import schema  # noqa: F401  (registers the API key scheme in the OpenAPI document)
