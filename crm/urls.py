from django.urls import path

from .views import candidates, operations, pipeline
from .views import organizations as views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("orgs/new/", views.organization_new, name="organization_new"),
    path("invite/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("o/<slug:org_slug>/", views.dashboard, name="dashboard"),
    path("o/<slug:org_slug>/mfa-required/", views.mfa_required, name="mfa_required"),
    path("o/<slug:org_slug>/settings/", views.organization_settings, name="organization_settings"),
    path("o/<slug:org_slug>/settings/members/", views.members, name="members"),
    path("o/<slug:org_slug>/settings/members/<int:member_id>/role/", views.member_role, name="member_role"),
    path("o/<slug:org_slug>/settings/members/<int:member_id>/remove/", views.member_remove, name="member_remove"),
    path("o/<slug:org_slug>/settings/invitations/<int:invitation_id>/revoke/", views.invitation_revoke,
         name="invitation_revoke"),
    path("o/<slug:org_slug>/settings/api-keys/", views.api_keys, name="api_keys"),
    path("o/<slug:org_slug>/settings/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("o/<slug:org_slug>/settings/delete/", views.organization_delete, name="organization_delete"),
    path("o/<slug:org_slug>/settings/audit/", views.audit_log, name="audit_log"),
    path("o/<slug:org_slug>/settings/rejection-reasons/", views.rejection_reasons, name="rejection_reasons"),
    path("o/<slug:org_slug>/settings/rejection-reasons/<int:reason_id>/", views.rejection_reason_edit,
         name="rejection_reason_edit"),
    path("o/<slug:org_slug>/settings/rejection-reasons/<int:reason_id>/toggle/", views.rejection_reason_toggle,
         name="rejection_reason_toggle"),
]

urlpatterns += [
    path("o/<slug:org_slug>/candidates/", candidates.candidate_list, name="candidate_list"),
    path("o/<slug:org_slug>/candidates/new/", candidates.candidate_new, name="candidate_new"),
    path("o/<slug:org_slug>/candidates/export.csv", candidates.candidates_export, name="candidates_export"),
    path("o/<slug:org_slug>/candidates/<int:candidate_id>/", candidates.candidate_detail, name="candidate_detail"),
    path("o/<slug:org_slug>/candidates/<int:candidate_id>/edit/", candidates.candidate_edit, name="candidate_edit"),
    path("o/<slug:org_slug>/candidates/<int:candidate_id>/timeline/", candidates.candidate_timeline,
         name="candidate_timeline"),
    path("o/<slug:org_slug>/candidates/<int:candidate_id>/do-not-contact/", candidates.candidate_do_not_contact,
         name="candidate_do_not_contact"),
    path("o/<slug:org_slug>/candidates/<int:candidate_id>/notes/", candidates.candidate_note, name="candidate_note"),
]

urlpatterns += [
    path("o/<slug:org_slug>/jobs/", pipeline.job_list, name="job_list"),
    path("o/<slug:org_slug>/jobs/new/", pipeline.job_new, name="job_new"),
    path("o/<slug:org_slug>/jobs/<int:job_id>/", pipeline.job_detail, name="job_detail"),
    path("o/<slug:org_slug>/jobs/<int:job_id>/edit/", pipeline.job_edit, name="job_edit"),
    path("o/<slug:org_slug>/jobs/<int:job_id>/add-candidate/", pipeline.job_add_candidate, name="job_add_candidate"),
    path("o/<slug:org_slug>/applications/mine/", pipeline.my_applications, name="my_applications"),
    path("o/<slug:org_slug>/applications/waiting/", pipeline.waiting, name="waiting"),
    path("o/<slug:org_slug>/applications/<int:application_id>/", pipeline.application_detail,
         name="application_detail"),
    path("o/<slug:org_slug>/applications/<int:application_id>/move/", pipeline.application_move,
         name="application_move"),
    path("o/<slug:org_slug>/applications/<int:application_id>/reject/", pipeline.application_reject,
         name="application_reject"),
    path("o/<slug:org_slug>/applications/<int:application_id>/decline-offer/", pipeline.application_decline_offer,
         name="application_decline_offer"),
    path("o/<slug:org_slug>/applications/<int:application_id>/withdraw/", pipeline.application_withdraw,
         name="application_withdraw"),
    path("o/<slug:org_slug>/applications/<int:application_id>/notice/", pipeline.application_notice,
         name="application_notice"),
    path("o/<slug:org_slug>/applications/<int:application_id>/undo/", pipeline.application_undo,
         name="application_undo"),
    path("o/<slug:org_slug>/applications/<int:application_id>/feedback/", pipeline.application_feedback,
         name="application_feedback"),
    path("o/<slug:org_slug>/applications/<int:application_id>/feedback/<int:feedback_id>/edit/",
         pipeline.feedback_edit, name="feedback_edit"),
    path("o/<slug:org_slug>/applications/<int:application_id>/call/", pipeline.application_call,
         name="application_call"),
    path("o/<slug:org_slug>/candidates/<int:candidate_id>/add-to-job/", pipeline.candidate_add_to_job,
         name="candidate_add_to_job"),
    path("o/<slug:org_slug>/candidates/<int:candidate_id>/silver-medalist/", pipeline.candidate_silver_medalist,
         name="candidate_silver_medalist"),
]

urlpatterns += [
    path("o/<slug:org_slug>/operations/", operations.operation_list, name="operation_list"),
    path("o/<slug:org_slug>/operations/<int:operation_id>/", operations.operation_detail, name="operation_detail"),
]
