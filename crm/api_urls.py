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
