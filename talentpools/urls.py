from django.urls import path

from . import views

app_name = "talentpools"

urlpatterns = [
    path("o/<slug:org_slug>/tags/", views.tag_list, name="tag_list"),
    path("o/<slug:org_slug>/tags/<int:tag_id>/", views.tag_edit, name="tag_edit"),
    path("o/<slug:org_slug>/tags/rules/", views.rule_list, name="rule_list"),
    path("o/<slug:org_slug>/tags/rules/<int:rule_id>/", views.rule_action, name="rule_action"),
    path("o/<slug:org_slug>/candidates/<int:candidate_id>/tags/", views.candidate_tag, name="candidate_tag"),
    path("o/<slug:org_slug>/candidates/<int:candidate_id>/pools/", views.candidate_pool, name="candidate_pool"),
    path("o/<slug:org_slug>/candidates/bulk/", views.bulk_action, name="bulk_action"),
    path("o/<slug:org_slug>/pools/", views.pool_list, name="pool_list"),
    path("o/<slug:org_slug>/pools/new/", views.pool_new, name="pool_new"),
    path("o/<slug:org_slug>/pools/preview/", views.pool_preview, name="pool_preview"),
    path("o/<slug:org_slug>/pools/<int:pool_id>/", views.pool_detail, name="pool_detail"),
    path("o/<slug:org_slug>/pools/<int:pool_id>/edit/", views.pool_edit, name="pool_edit"),
    path("o/<slug:org_slug>/pools/<int:pool_id>/growth/", views.pool_growth, name="pool_growth"),
    path("o/<slug:org_slug>/pools/<int:pool_id>/export.csv", views.pool_export, name="pool_export"),
    path("o/<slug:org_slug>/pools/<int:pool_id>/remove/", views.pool_remove_member, name="pool_remove_member"),
    path("o/<slug:org_slug>/jobs/<int:job_id>/matches/", views.job_matches, name="job_matches"),
]
