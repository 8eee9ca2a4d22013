from django.urls import path

from . import views

app_name = "imports"

urlpatterns = [
    path("o/<slug:org_slug>/imports/", views.import_list, name="list"),
    path("o/<slug:org_slug>/imports/<int:import_id>/", views.import_detail, name="detail"),
    path("o/<slug:org_slug>/imports/<int:import_id>/mapping/", views.import_mapping, name="mapping"),
    path("o/<slug:org_slug>/imports/<int:import_id>/run/", views.import_run, name="run"),
    path("o/<slug:org_slug>/imports/<int:import_id>/row-errors.csv", views.import_problems, name="problems"),
]
