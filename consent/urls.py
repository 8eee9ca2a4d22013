from django.urls import path

from . import views

app_name = "consent"

urlpatterns = [
    path("o/<slug:org_slug>/candidates/<int:candidate_id>/consents/", views.record_consent, name="record"),
]
