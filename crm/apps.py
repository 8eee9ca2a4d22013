from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Silverpool core"

    def ready(self):
        from . import checks, schema  # noqa: F401  (deployment checks; the API key scheme in the OpenAPI document)
        from .erasure import register_core

        register_core()  # what the core holds about a person: their copy and their erasure
