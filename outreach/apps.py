from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "outreach"
    verbose_name = "Email engine"

    def ready(self):
        from anymail.signals import inbound, tracking

        from crm.events import (
            application_rejected,
            notice_planned,
            offer_declined,
            organization_created,
            rejection_undone,
        )
        from crm.panels import register_candidate_panel

        from . import inbound as replies
        from . import receivers, views

        application_rejected.connect(receivers.on_decision, dispatch_uid="outreach.rejected")
        offer_declined.connect(receivers.on_decision, dispatch_uid="outreach.offer_declined")
        notice_planned.connect(receivers.on_decision, dispatch_uid="outreach.notice_planned")
        rejection_undone.connect(receivers.on_rejection_undone, dispatch_uid="outreach.undone")
        organization_created.connect(receivers.on_organization_created, dispatch_uid="outreach.templates")
        tracking.connect(receivers.on_tracking_event, dispatch_uid="outreach.tracking")
        inbound.connect(replies.on_inbound, dispatch_uid="outreach.inbound")
        register_candidate_panel("messages", order=30, render=views.messages_panel)
        from crm.panels import register_dashboard_panel

        register_dashboard_panel("talent-pool-results", order=10, render=views.dashboard_panel)
        from crm.notices import register_notice_status_provider

        from .selectors import notice_statuses

        register_notice_status_provider(notice_statuses)
        from crm.notices import register_settled_notices

        from .selectors import settled_notices

        register_settled_notices(settled_notices)
        from crm.notices import register_notice_template_validator

        from .selectors import notice_template_error

        register_notice_template_validator(notice_template_error)
        from crm.erasure import register_eraser, register_export_section

        from . import erasure

        register_eraser("outreach.replies", erasure.erase_replies, order=50)
        register_eraser("outreach.messages", erasure.erase_messages, order=55)
        register_eraser("outreach.rsvps", erasure.erase_rsvps, order=56)
        register_export_section("emails", erasure.export_emails, order=30)
        register_export_section("rsvps", erasure.export_rsvps, order=31)
        register_export_section("replies", erasure.export_replies, order=32)
