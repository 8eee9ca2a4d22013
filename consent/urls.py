from django.urls import path

from . import public, views

app_name = "consent"

urlpatterns = [
    path("o/<slug:org_slug>/candidates/<int:candidate_id>/consents/", views.record_consent, name="record"),
    path("o/<slug:org_slug>/candidates/<int:candidate_id>/export/", views.export_candidate, name="export"),
    path("o/<slug:org_slug>/candidates/<int:candidate_id>/erase/", views.erase_candidate, name="erase"),
    path("o/<slug:org_slug>/consent/", views.dashboard, name="dashboard"),
    path("o/<slug:org_slug>/consent/texts/", views.texts, name="texts"),
    path("p/<slug:public_slug>/join/", public.join, name="join"),
    path("p/<slug:public_slug>/brand.css", public.brand_css, name="brand_css"),
    path("p/s/<str:token>/", public.stay_in_touch, name="stay_in_touch"),
    path("p/confirm/<str:token>/", public.confirm, name="confirm"),
    path("p/prefs/<str:token>/", public.preferences, name="preferences"),
    path("p/u/<str:token>/", public.unsubscribe, name="unsubscribe"),
    path("p/copy/<str:token>/", public.data_copy, name="data_copy"),
]
