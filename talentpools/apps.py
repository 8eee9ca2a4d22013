from django.apps import AppConfig


class TalentpoolsConfig(AppConfig):
    name = "talentpools"
