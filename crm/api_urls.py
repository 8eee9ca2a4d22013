from django.urls import path

from . import api

urlpatterns = [
    path("me/", api.WhoAmIView.as_view(), name="me"),
    path("candidates/", api.CandidateListView.as_view(), name="candidate_list"),
    path("candidates/<int:candidate_id>/", api.CandidateDetailView.as_view(), name="candidate_detail"),
    path("candidates/by-external-id/<str:key>/", api.CandidateByExternalIdView.as_view(),
         name="candidate_by_external_id"),
    path("candidates/by-email/<str:key>/", api.CandidateByEmailView.as_view(), name="candidate_by_email"),
]

from . import api_pipeline as pipeline  # noqa: E402

urlpatterns += [
    path("jobs/", pipeline.JobListView.as_view(), name="job_list"),
    path("jobs/<int:job_id>/", pipeline.JobDetailView.as_view(), name="job_detail"),
    path("jobs/by-external-id/<str:key>/", pipeline.JobByExternalIdView.as_view(), name="job_by_external_id"),
    path("applications/", pipeline.ApplicationListView.as_view(), name="application_list"),
    path("applications/<int:application_id>/", pipeline.ApplicationDetailView.as_view(), name="application_detail"),
    path("applications/by-external-id/<str:key>/", pipeline.ApplicationByExternalIdView.as_view(),
         name="application_by_external_id"),
    path("applications/<int:application_id>/advance/", pipeline.AdvanceView.as_view(), name="application_advance"),
    path("applications/<int:application_id>/reject/", pipeline.RejectView.as_view(), name="application_reject"),
    path("applications/<int:application_id>/decline-offer/", pipeline.DeclineOfferView.as_view(),
         name="application_decline_offer"),
    path("applications/<int:application_id>/undo-rejection/", pipeline.UndoRejectionView.as_view(),
         name="application_undo_rejection"),
    path("applications/<int:application_id>/feedback/", pipeline.FeedbackView.as_view(),
         name="application_feedback"),
    path("rejection-reasons/", pipeline.RejectionReasonListView.as_view(), name="rejection_reason_list"),
]

from outreach import api as outreach_api  # noqa: E402

urlpatterns += [
    path("messages/", outreach_api.MessageListView.as_view(), name="message_list"),
    path("templates/", outreach_api.TemplateListView.as_view(), name="template_list"),
    path("campaigns/", outreach_api.CampaignListView.as_view(), name="campaign_list"),
    path("campaigns/<int:campaign_id>/", outreach_api.CampaignDetailView.as_view(), name="campaign_detail"),
    path("campaigns/<int:campaign_id>/launch/", outreach_api.CampaignActionView.as_view(action="launch"),
         name="campaign_launch"),
    path("campaigns/<int:campaign_id>/pause/", outreach_api.CampaignActionView.as_view(action="pause"),
         name="campaign_pause"),
    path("campaigns/<int:campaign_id>/resume/", outreach_api.CampaignActionView.as_view(action="resume"),
         name="campaign_resume"),
    path("campaigns/<int:campaign_id>/cancel/", outreach_api.CampaignActionView.as_view(action="cancel"),
         name="campaign_cancel"),
    path("campaigns/<int:campaign_id>/stats/", outreach_api.CampaignStatsView.as_view(), name="campaign_stats"),
    path("campaigns/<int:campaign_id>/audience-preview/", outreach_api.CampaignAudiencePreviewView.as_view(),
         name="campaign_audience_preview"),
]

from consent import api as consent_api  # noqa: E402

urlpatterns += [
    path("candidates/<int:candidate_id>/consents/", consent_api.CandidateConsentsView.as_view(),
         name="candidate_consents"),
    path("candidates/<int:candidate_id>/erase/", consent_api.CandidateEraseView.as_view(), name="candidate_erase"),
    path("candidates/<int:candidate_id>/export/", consent_api.CandidateExportView.as_view(),
         name="candidate_export"),
]

from talentpools import api as pools_api  # noqa: E402

urlpatterns += [
    path("tags/", pools_api.TagListView.as_view(), name="tag_list"),
    path("candidates/<int:candidate_id>/tags/", pools_api.CandidateTagsView.as_view(), name="candidate_tags"),
    path("tags/<int:tag_id>/candidates/", pools_api.TagCandidatesBulkView.as_view(), name="tag_candidates_bulk"),
    path("operations/<int:operation_id>/", pools_api.OperationDetailView.as_view(), name="operation_detail"),
    path("pools/", pools_api.PoolListView.as_view(), name="pool_list"),
    path("pools/<int:pool_id>/", pools_api.PoolDetailView.as_view(), name="pool_detail"),
    path("pools/<int:pool_id>/candidates/", pools_api.PoolCandidatesView.as_view(), name="pool_candidates"),
    path("pools/<int:pool_id>/members/", pools_api.PoolMembersView.as_view(), name="pool_members"),
    path("pools/<int:pool_id>/members/<int:candidate_id>/", pools_api.PoolMemberView.as_view(),
         name="pool_member"),
    path("jobs/<int:job_id>/matches/", pools_api.JobMatchesView.as_view(), name="job_matches"),
]
