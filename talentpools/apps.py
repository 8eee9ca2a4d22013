from django.apps import AppConfig


class TalentpoolsConfig(AppConfig):
    name = "talentpools"
    verbose_name = "Talent pools"

    def ready(self):
        from crm.panels import register_candidate_panel

        from . import views

        register_candidate_panel("tags", order=10, render=views.tags_panel)
