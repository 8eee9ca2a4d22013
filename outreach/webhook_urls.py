"""anymail's webhook routes, each behind Silverpool's guard (outreach/webhooks.py)."""

from anymail import urls as anymail_urls
from django.urls import URLPattern

from .webhooks import guarded

app_name = "anymail"


def _provider(pattern):
    # "postmark/tracking/", r"^mailgun/inbound(_mime)?/$", "mandrill/" -> postmark, mailgun, mandrill
    return str(pattern.pattern).lstrip("^").split("/")[0]


urlpatterns = [
    URLPattern(pattern.pattern, guarded(pattern.callback, _provider(pattern)), pattern.default_args, pattern.name)
    for pattern in anymail_urls.urlpatterns
]
