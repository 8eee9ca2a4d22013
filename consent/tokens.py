"""Signed personal links. Each kind has its own salt; a token names organization, candidate (or
request) and purpose, and cannot be turned into another's. Old keys keep working through
SECRET_KEY_FALLBACKS."""

from django.core import signing

CONFIRM_MAX_AGE = 7 * 24 * 3600


class BadToken(Exception):
    pass


def make(kind, **payload):
    return signing.dumps(payload, salt=f"silverpool.consent.{kind}", compress=True)


def read(kind, token, max_age=None):
    try:
        return signing.loads(token, salt=f"silverpool.consent.{kind}", max_age=max_age)
    except signing.SignatureExpired as error:
        raise BadToken("expired") from error
    except signing.BadSignature as error:
        raise BadToken("invalid") from error


def preferences_token(candidate):
    return make("prefs", o=candidate.organization_id, c=candidate.pk)


def unsubscribe_token(candidate, topic):
    return make("unsub", o=candidate.organization_id, c=candidate.pk, p=topic)


def stay_in_touch_token(candidate):
    return make("stay", o=candidate.organization_id, c=candidate.pk)


def confirm_token(pending):
    return make("confirm", o=pending.organization_id, r=pending.pk)
