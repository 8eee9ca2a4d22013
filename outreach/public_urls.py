"""Public pages of campaigns (no login): event answers and the open jobs a digest links to."""

from django.urls import path

urlpatterns = []
