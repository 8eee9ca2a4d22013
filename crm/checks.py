"""Deployment checks (`manage.py check --deploy`) of the settings that keep people's data safe."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.http.request import validate_host

MIN_KEY_LENGTH = 32


@register(Tags.security, deploy=True)
def suppression_hash_key(app_configs, **kwargs):
    key = settings.SUPPRESSION_HASH_KEY
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    if not key:
        return [Error("SUPPRESSION_HASH_KEY is not set.", id="silverpool.E001",
                      hint="Set a random key of its own: the suppression list must outlive SECRET_KEY rotations.")]
    if any(secret and secret in key for secret in secrets):
        # Then rotating SECRET_KEY would change every hash and let erased people back in.
        return [Error("SUPPRESSION_HASH_KEY is SECRET_KEY or is derived from it.", id="silverpool.E002",
                      hint="Set a random key of its own; list the previous value in SUPPRESSION_HASH_KEY_FALLBACKS "
                           "and run `manage.py rehash_suppressions`.")]
    if len(key) < MIN_KEY_LENGTH:
        return [Warning(f"SUPPRESSION_HASH_KEY is shorter than {MIN_KEY_LENGTH} characters.", id="silverpool.W003",
                        hint="A short key lets anyone holding the database guess erased addresses.")]
    return []


@register(Tags.security, deploy=True)
def site_url(app_configs, **kwargs):
    url = urlsplit(settings.SITE_URL)
    if url.scheme not in {"http", "https"} or not url.hostname or url.path not in {"", "/"} or url.query:
        return [Error(f"SITE_URL {settings.SITE_URL!r} is not a base URL like https://crm.example.com.",
                      id="silverpool.E004")]
    problems = []
    if url.scheme != "https":
        problems.append(Warning("SITE_URL is not https: personal links in emails would travel in clear text.",
                                id="silverpool.W005"))
    if not validate_host(url.hostname, settings.ALLOWED_HOSTS):
        problems.append(Warning(f"SITE_URL's host {url.hostname!r} is not in ALLOWED_HOSTS: every emailed link "
                                "would answer 400.", id="silverpool.W006"))
    return problems
