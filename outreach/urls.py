from django.urls import path

from . import campaign_views, views

app_name = "outreach"

urlpatterns = [
    path("o/<slug:org_slug>/campaigns/", campaign_views.campaign_list, name="campaign_list"),
    path("o/<slug:org_slug>/campaigns/new/", campaign_views.campaign_new, name="campaign_new"),
    path("o/<slug:org_slug>/campaigns/<int:campaign_id>/", campaign_views.campaign_detail, name="campaign_detail"),
    path("o/<slug:org_slug>/campaigns/<int:campaign_id>/edit/", campaign_views.campaign_edit, name="campaign_edit"),
    path("o/<slug:org_slug>/campaigns/<int:campaign_id>/action/", campaign_views.campaign_action,
         name="campaign_action"),
    path("o/<slug:org_slug>/campaigns/<int:campaign_id>/progress/", campaign_views.campaign_progress,
         name="campaign_progress"),
    path("o/<slug:org_slug>/campaigns/<int:campaign_id>/preview/<int:operation_id>/", campaign_views.campaign_preview,
         name="campaign_preview"),
    path("o/<slug:org_slug>/outbox/", views.outbox, name="outbox"),
    path("o/<slug:org_slug>/outbox/review/", views.review_queue, name="review_queue"),
    path("o/<slug:org_slug>/outbox/review/<int:message_id>/approve/", views.review_approve, name="review_approve"),
    path("o/<slug:org_slug>/outbox/replies/<int:reply_id>/reviewed/", views.stop_request_reviewed,
         name="stop_request_reviewed"),
    path("o/<slug:org_slug>/outbox/<int:message_id>/", views.message_detail, name="message_detail"),
    path("o/<slug:org_slug>/outbox/<int:message_id>/resolve/", views.message_resolve, name="message_resolve"),
    path("o/<slug:org_slug>/templates/", views.template_list, name="template_list"),
    path("o/<slug:org_slug>/templates/new/", views.template_edit, name="template_new"),
    path("o/<slug:org_slug>/templates/preview/", views.template_preview, name="template_preview"),
    path("o/<slug:org_slug>/templates/preview/<str:key>/", views.template_preview_frame, name="template_preview_frame"),
    path("o/<slug:org_slug>/templates/<int:template_id>/", views.template_edit, name="template_edit"),
    path("o/<slug:org_slug>/templates/<int:template_id>/test/", views.template_send_test, name="template_send_test"),
]
