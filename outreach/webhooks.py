"""The provider webhooks' door: whatever a caller posts, it gets a 2xx or a 4xx, never a 5xx.

A provider retries a 5xx for days, so a body that can never be events must be refused for good:
400 for a body that is not the provider's events, 413 over the size limit, 401 (with a Basic
challenge) for missing or wrong basic auth, 403 for a bad provider signature, 404 for a provider
this installation is not set up for. Amazon SES posts through Amazon SNS: each message's SNS
signature is checked (outreach/sns.py) before anymail reads it, and a certificate that cannot be
fetched right now is a 503, so that SNS delivers the message again.

A tracking post is taken, not applied, here: anymail normalizes its events, the tracking signal's receiver
checks each one's fields (outreach.receivers.taken: a malformed event refuses the whole post), and the
post's events go into the inbox (outreach.models.WebhookEvent) in one INSERT, whole or not at all; an
event already there (a replay) is dropped by its key. A worker applies them in batches with the rules of
outreach.receivers (nudged after the post, at most one nudge waiting; the beat applies what a lost nudge
left). The guard's block is the post's only transaction: the views are exempt from ATOMIC_REQUESTS (an
inbound reply's rows are written inside it, whole or not at all).

The one 5xx left is 503 (with Retry-After) for a database error the body did not cause: the database
unreachable, or a schema the code does not match yet (deployed before `migrate`). The provider's retry
then delivers the events once it is fixed; only a DataError or an IntegrityError (a value the body
carried that the database refuses) is the body's fault, a 400.
"""

import contextvars
import functools
import json
import logging
import re
import time

from anymail.exceptions import AnymailConfigurationError, AnymailWebhookValidationFailure
from anymail.utils import get_anymail_setting, get_request_basic_auth
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from crm.text_guard import unstorable_in_json

from . import sns

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 2_621_440  # Django's own request body limit


class MalformedEvent(ValueError):
    """An event whose fields do not have the types the provider documents."""


def _is_object(data):
    return isinstance(data, dict)


def _is_event_list(data):
    return isinstance(data, list) and all(isinstance(item, dict) for item in data)


def _is_mailgun_event(data):
    return (isinstance(data, dict) and isinstance(data.get("event-data"), dict)
            and isinstance(data.get("signature"), dict))


# The top-level shape of each JSON provider's tracking body (anymail reads the fields inside).
JSON_SHAPES = {
    "postmark": _is_object,
    "sendgrid": _is_event_list,
    "mailgun": _is_mailgun_event,
    "amazon_ses": _is_object,
    "brevo": _is_object,
    "sendinblue": _is_object,
    "mailersend": _is_object,
    "postal": _is_object,
    "resend": _is_object,
    "sparkpost": _is_event_list,
    "mailjet": lambda data: _is_object(data) or _is_event_list(data),
    "mailtrap": _is_object,
    "unisender_go": _is_object,
}

# Providers that post through Amazon SNS: every message must carry Amazon's signature.
SNS_PROVIDERS = {"amazon_ses"}


def max_body():
    return getattr(settings, "WEBHOOK_MAX_BODY", None) or DEFAULT_MAX_BODY


def _refuse(status, provider, reason, *, level=logging.WARNING):
    """One log line with the provider and a short reason (never the body), and the answer."""
    logger.log(level, "webhook %s refused with %s: %s", provider, status, str(reason)[:200])
    response = HttpResponse(status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="Silverpool webhooks", charset="UTF-8"'
    response._has_been_logged = True  # Django's request logger would log the 4xx a second time
    return response


def _basic_auth_ok(request):
    secrets = get_anymail_setting("webhook_secret", default=[])
    if isinstance(secrets, str):
        secrets = [secrets] if secrets else []
    if not secrets:
        return True  # a provider that signs its posts (Mailgun, SendGrid) may go without basic auth
    given = get_request_basic_auth(request) or ""
    return any(constant_time_compare(given, secret) for secret in secrets)


def _is_json(request):
    return request.content_type == "application/json" or request.content_type.endswith("+json")


def _body_problem(request, provider):
    """Why the body cannot be this provider's events, or None (a form-encoded body is left to anymail).

    A JSON body holding text PostgreSQL cannot store (a NUL character, a lone surrogate) is refused here,
    where it is parsed anyway: the site-wide check (crm.text_guard) leaves the guarded views' JSON to this."""
    check = JSON_SHAPES.get(provider)
    if check is None and not _is_json(request):
        return None
    if check is not None and not request.body.strip():
        return "an empty body"
    if provider == "mailgun" and request.content_type != "application/json":
        return None  # Mailgun's legacy webhooks post form fields
    try:
        data = json.loads(request.body)  # bytes: decoded with surrogatepass, so ED A0 80 shows up
    except UnicodeDecodeError:
        return "the body is not UTF-8" if check is not None else None
    except RecursionError:
        return "the body is nested too deeply" if check is not None else None
    except ValueError as error:
        return f"the body is not JSON ({error.__class__.__name__})" if check is not None else None
    if check is not None and not check(data):
        return f"the body is not {provider} events (a JSON {type(data).__name__})"
    if _may_hold_unstorable(request.body) and (unstorable := unstorable_in_json(data)):
        return f"text that cannot be stored at {unstorable[1]}"
    return None


# In JSON text, a NUL character or a lone surrogate comes as a \u escape, or (a surrogate) as the bytes ED A0-BF.
_ESCAPE_OR_SURROGATE = re.compile(rb"\\u|\xed[\xa0-\xbf]")


def _may_hold_unstorable(body):
    """False when the JSON body cannot hold text PostgreSQL refuses: most posts, spared walking every string."""
    return _ESCAPE_OR_SURROGATE.search(body) is not None


# The post being taken: its events, gathered by the tracking signal's receiver (outreach.receivers.taken).
_taking = contextvars.ContextVar("silverpool_webhook_events", default=None)

INSERT_EVENTS = """
    INSERT INTO outreach_webhookevent (provider, event_key, fields, received_at, attempts, error)
    VALUES {rows}
    ON CONFLICT (provider, event_key) DO NOTHING
"""


def take(fields):
    """Keep an event of the post being taken; False when no post is (the caller applies the event itself)."""
    events = _taking.get()
    if events is None:
        return False
    events.append(fields)
    return True


def _store(events):
    """The post's events into the inbox in one statement; an event already there (a replay) is dropped."""
    from .receivers import event_key

    now = timezone.now()
    params = []
    for fields in events:
        params += [fields["esp_name"][:40], event_key(fields), json.dumps(fields), now]
    with connection.cursor() as cursor:
        cursor.execute(INSERT_EVENTS.format(rows=", ".join(["(%s, %s, %s::jsonb, %s, 0, '')"] * len(events))),
                       params)
        return cursor.rowcount


_asked_at = None  # when this process last found a worker asked (time.monotonic())


def _nudge():
    """Ask a worker to apply the inbox, once the post has committed, unless one is asked already and has not
    started: the worker clears the mark before it reads the inbox, so it will see these events. This process
    does not ask again within NUDGE_QUIET seconds of finding a worker asked: that worker, once the inbox is
    empty, looks again NUDGE_QUIET seconds later (outreach.tasks.apply_webhook_events), after these events
    committed. A lost nudge loses nothing: the beat's tick applies what is left, and the mark lapses."""
    global _asked_at
    from django.core.cache import cache

    from .tasks import NUDGE_QUIET, NUDGED, NUDGED_SECONDS, apply_webhook_events

    if not apply_webhook_events.app.conf.task_always_eager:  # else the nudge applies the events here and now
        if _asked_at is not None and time.monotonic() - _asked_at < NUDGE_QUIET:
            return
        _asked_at = time.monotonic()
        if not cache.add(NUDGED, 1, NUDGED_SECONDS):
            return
    try:
        apply_webhook_events.delay()
    except Exception as error:  # kombu.exceptions.OperationalError when Redis is unreachable
        logger.warning("could not queue the webhook events' application: %r", error)


def guarded(view, provider):
    """`view` (one of anymail's webhook views) answering as the module says."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "POST":
            return view(request, *args, **kwargs)
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refuse(400, provider, "an unreadable Content-Length")
        if declared > max_body():
            return _refuse(413, provider, f"a body of {declared} bytes, over the limit of {max_body()}")
        try:
            body = request.body
        except RequestDataTooBig:
            return _refuse(413, provider, f"a body over the limit of {max_body()} bytes")
        if len(body) > max_body():
            return _refuse(413, provider, f"a body of {len(body)} bytes, over the limit of {max_body()}")
        if not _basic_auth_ok(request):
            return _refuse(401, provider, "missing or wrong basic auth")
        if problem := _body_problem(request, provider):
            return _refuse(400, provider, problem)
        if provider in SNS_PROVIDERS:
            try:
                sns.verify(json.loads(body.decode("utf-8")))
            except sns.InvalidMessage as error:
                return _refuse(403, provider, f"SNS signature: {error}")
            except sns.CertificateUnavailable as error:
                logger.error("webhook %s: %s; SNS will deliver the message again", provider, str(error)[:200])
                response = HttpResponse(status=503)
                response["Retry-After"] = "60"
                return response
            except Exception as error:  # a body no check foresaw is still not Amazon's signed message
                return _refuse(403, provider, f"SNS signature: unreadable message ({error.__class__.__name__})")
        events, stored = [], 0
        token = _taking.set(events)
        try:
            with transaction.atomic():
                response = view(request, *args, **kwargs)
                if response.status_code >= 400:
                    transaction.set_rollback(True)
            if events and response.status_code < 400 and connection.in_atomic_block:
                with transaction.atomic():  # a caller's transaction around the guard stays usable if refused
                    stored = _store(events)
            elif events and response.status_code < 400:
                # After the view's block, which wrote nothing for them: one statement, the post's events whole
                # or none, with no BEGIN and COMMIT of its own to wait for.
                stored = _store(events)
        except AnymailWebhookValidationFailure as error:
            return _refuse(403, provider, error)
        except AnymailConfigurationError as error:
            return _refuse(404, provider, f"not set up here: {error}", level=logging.ERROR)
        except (DataError, IntegrityError) as error:  # a value the body carried, refused by the database
            return _refuse(400, provider, f"{error.__class__.__name__}: {error}")
        except (DatabaseError, InterfaceError) as error:  # unreachable, or a schema behind the code: retry later
            logger.error("webhook %s: database error (%s), the provider will retry: %s", provider,
                         error.__class__.__name__, str(error)[:200])
            response = HttpResponse(status=503)
            response["Retry-After"] = "60"
            return response
        except Exception as error:  # anymail's parsers assume the documented types
            return _refuse(400, provider, f"{error.__class__.__name__}: {error}")
        finally:
            _taking.reset(token)
        if response.status_code >= 500:
            return _refuse(400, provider, f"the provider's view answered {response.status_code}")
        if stored:  # committed: the guard's block is the post's only transaction
            _nudge()
        return response

    wrapper.checks_unstorable_json = True  # crm.text_guard leaves a JSON body to _body_problem
    # The guard's transaction above is the post's only one: no ATOMIC_REQUESTS block around it.
    return transaction.non_atomic_requests(wrapper)
