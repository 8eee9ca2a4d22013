"""The status of decision notices (rejection emails), which the email engine knows.

The engine registers a provider in its AppConfig.ready(); the core's pages ask through here.
"""

_provider = None


def register_notice_status_provider(provider):
    """`provider(application_ids)` returns {application_id: (status, label)} for those with a notice."""
    global _provider
    _provider = provider


def notice_statuses(application_ids):
    if _provider is None or not application_ids:
        return {}
    return _provider(list(application_ids))


_settled_provider = None


def register_settled_notices(provider):
    """`provider()` returns a queryset of the application ids whose notice is sent or on its way."""
    global _settled_provider
    _settled_provider = provider


def settled_notices():
    """Ids (a queryset) of applications whose notice went or is planned; None when no engine is installed."""
    return _settled_provider() if _settled_provider is not None else None


_template_validator = None


def register_notice_template_validator(validator):
    """`validator(template_id, application)` returns an error message, or None if the template may be used."""
    global _template_validator
    _template_validator = validator


def notice_template_error(template_id, application):
    if template_id is None or _template_validator is None:
        return None
    return _template_validator(template_id, application)
