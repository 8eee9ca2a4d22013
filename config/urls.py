from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

api_v1 = [
    path("", include("crm.api_urls")),
]

urlpatterns = [
    *([path(settings.ADMIN_URL, admin.site.urls)] if settings.ADMIN_ENABLED else []),
    path("accounts/", include("allauth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("webhooks/anymail/", include("outreach.inbound_urls")),
    path("webhooks/anymail/", include("outreach.webhook_urls")),
    path("", include("consent.urls")),
    path("", include("talentpools.urls")),
    path("", include("outreach.urls")),
    path("", include("outreach.public_urls")),
    path("", include("imports.urls")),
    path("", include("crm.urls")),
]
