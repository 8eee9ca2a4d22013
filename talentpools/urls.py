from django.urls import path

from . import views

app_name = "talentpools"

urlpatterns = [
    path("o/<slug:org_slug>/tags/", views.tag_list, name="tag_list"),
    path("o/<slug:org_slug>/tags/<int:tag_id>/", views.tag_edit, name="tag_edit"),
    path("o/<slug:org_slug>/candidates/<int:candidate_id>/tags/", views.candidate_tag, name="candidate_tag"),
]
