"""Public pages of campaigns (no login): event answers and the open jobs a digest links to."""

from django.urls import path

from . import public

# Public pages name the organization with `public_slug`, not `org_slug`: they need no membership.
urlpatterns = [
    path("p/rsvp/<str:token>/", public.rsvp, name="outreach_public_rsvp"),
    path("p/<slug:public_slug>/jobs/<int:job_id>/", public.job, name="outreach_public_job"),
]
