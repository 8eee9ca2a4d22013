"""anymail's inbound routes (candidates' replies, see outreach.inbound), each behind the webhooks' guard.

Included before outreach.webhook_urls at the same prefix, so `/webhooks/anymail/<provider>/inbound/` is served
here: the same size limit, basic auth, provider signatures (Mailgun) and no-5xx answers as the tracking
webhooks, with the body check an inbound post needs (SendGrid and Mailgun post form fields, not JSON events).
"""

import functools

from anymail import urls as anymail_urls
from django.urls import URLPattern

from .webhook_urls import _provider
from .webhooks import _refuse, guarded

app_name = "inbound"

FORM_TYPES = {"multipart/form-data", "application/x-www-form-urlencoded"}
FORM_PROVIDERS = {"sendgrid", "mailgun"}  # inbound parse and routes' forward(): form fields (raw MIME inside)
# The guard checks a JSON body against the provider's tracking shape (Postmark's inbound message and an SNS
# notification are JSON objects too); SendGrid's tracking posts are JSON lists, its inbound posts are forms.
GUARD_NAMES = {"sendgrid": "sendgrid inbound"}


def inbound_problem(request, provider):
    """Why the body cannot be this provider's inbound email, or None (anymail reads the fields inside)."""
    if provider in FORM_PROVIDERS and request.content_type not in FORM_TYPES:
        return f"an inbound email comes as form fields, not {request.content_type or 'an untyped body'}"
    return None


def checked(view, provider):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST" and (problem := inbound_problem(request, provider)):
            return _refuse(400, f"{provider} inbound", problem)
        return view(request, *args, **kwargs)

    return wrapper


def _guarded(pattern):
    provider = _provider(pattern)
    return guarded(checked(pattern.callback, provider), GUARD_NAMES.get(provider, provider))


urlpatterns = [
    URLPattern(pattern.pattern, _guarded(pattern), pattern.default_args, pattern.name)
    for pattern in anymail_urls.urlpatterns if pattern.name.endswith("_inbound_webhook")
]
