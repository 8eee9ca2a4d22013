from django.apps import AppConfig


class TalentpoolsConfig(AppConfig):
    name = "talentpools"
    verbose_name = "Talent pools"

    def ready(self):
        from crm.erasure import register_eraser, register_export_section
        from crm.events import application_rejected, candidate_created, candidate_updated, offer_declined
        from crm.panels import register_candidate_list_panel, register_candidate_panel, register_job_panel

        from . import erasure, receivers, views

        register_eraser("talentpools.memberships", erasure.erase_memberships, order=40)
        register_export_section("tags", erasure.export_tags, order=40)
        register_export_section("pools", erasure.export_pools, order=41)

        register_candidate_panel("tags", order=10, render=views.tags_panel)
        register_candidate_panel("pools", order=12, render=views.pools_panel)
        register_job_panel("matches", order=10, render=views.job_matches_panel)
        register_candidate_list_panel("bulk", order=10, render=views.bulk_bar)
        candidate_created.connect(receivers.on_candidate_event, dispatch_uid="talentpools.created")
        candidate_updated.connect(receivers.on_candidate_event, dispatch_uid="talentpools.updated")
        application_rejected.connect(receivers.on_application_event, dispatch_uid="talentpools.rejected")
        offer_declined.connect(receivers.on_application_event, dispatch_uid="talentpools.declined")
