from django.urls import path

from . import api

urlpatterns = [
    path("me/", api.WhoAmIView.as_view(), name="me"),
]
