"""Absolute links for emails and pages, always on SITE_URL.

A request's Host header is whatever the client sent (any name in ALLOWED_HOSTS, a proxy's inner name, a
port of the moment): a personal link built on it may point somewhere the outbox redaction and the
candidate do not expect. Every personal link is built here instead.
"""

from django.conf import settings
from django.urls import reverse


def site_url(path=""):
    """`path` (starting with /) on SITE_URL."""
    return settings.SITE_URL + path


def site_link(viewname, **kwargs):
    """The absolute link of a named route, on SITE_URL."""
    return site_url(reverse(viewname, kwargs=kwargs))
