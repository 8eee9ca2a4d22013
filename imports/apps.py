from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Imports"

    def ready(self):
        from crm.erasure import register_eraser

        from . import services

        register_eraser("imports.uploads", services.erase_person_from_uploads, order=60)
