"""What a failed provider call says about the email: not taken (safe to retry), refused for good, or unknown.

Only an error that proves the provider never took the email is retried: the connection was refused or
timed out while connecting, the name did not resolve, or the provider answered with an error status.
Once the request has gone out, a read timeout or a dropped connection says nothing about whether the
provider accepted it, so the message is flagged for review instead of being sent twice.

None of the HTTP providers anymail speaks to (Postmark, SendGrid, Mailgun, Amazon SES, Brevo,
SparkPost) takes an idempotency key on its send call; Resend does (an `Idempotency-Key` header, kept
24 hours), which would make a retry after an unknown outcome safe there.
"""

import smtplib

RETRY = "retry"  # the provider did not take it and may tomorrow
FAILED = "failed"  # the provider did not take it and never will
UNKNOWN = "unknown"  # the provider may have taken it: a person decides, or a provider event settles it

# Errors raised before a byte of the request reached the provider (matched by name where the library is optional).
_NOT_SENT_NAMES = {"ConnectTimeout", "ConnectTimeoutError", "NewConnectionError", "NameResolutionError",
                   "EndpointConnectionError", "ConnectionRefusedError", "gaierror", "SMTPConnectError"}
# Errors that can happen after the request went out: the answer, not the email, was lost.
_MAYBE_SENT_NAMES = {"ReadTimeout", "ReadTimeoutError", "ProtocolError", "ChunkedEncodingError",
                     "ConnectionResetError", "RemoteDisconnected", "IncompleteRead", "BrokenPipeError",
                     "ResponseStreamingError"}


def _chain(error):
    """The error, its causes and the errors it wraps (requests and urllib3 keep them in args and `reason`)."""
    seen, todo = set(), [error]
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend([current.__cause__, current.__context__, getattr(current, "reason", None), *current.args])


# Error codes of an AWS answer (Amazon SES) that say "too many requests now": the email was not taken.
_THROTTLED_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException",
                    "RequestThrottled", "RequestLimitExceeded"}


def _aws_answer(error):
    """(HTTP status, error code) of a botocore ClientError anymail wraps, or (None, None)."""
    for current in _chain(error):
        response = getattr(current, "response", None)
        if isinstance(response, dict) and isinstance(response.get("ResponseMetadata"), dict):
            detail = response.get("Error") if isinstance(response.get("Error"), dict) else {}
            return response["ResponseMetadata"].get("HTTPStatusCode"), detail.get("Code")
    return None, None


def _names(error):
    return {cls.__name__ for cls in type(error).__mro__}


class ProviderUnreachable(Exception):
    """Opening the connection to the provider failed: nothing was sent on it."""


def provider_outcome(error):
    """RETRY, FAILED or UNKNOWN for an exception raised while handing an email to the provider."""
    from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused

    if isinstance(error, ProviderUnreachable):
        return RETRY
    status = getattr(error, "status_code", None)
    if status is None:
        status, code = _aws_answer(error)
        if code in _THROTTLED_CODES:
            return RETRY
    if isinstance(status, int):
        if 200 <= status < 300:
            return UNKNOWN  # accepted, but its answer could not be read
        return RETRY if status >= 500 or status == 429 else FAILED
    if isinstance(error, (AnymailRecipientsRefused, smtplib.SMTPRecipientsRefused)):
        return FAILED
    if isinstance(error, smtplib.SMTPServerDisconnected) and "connect() first" in str(error):
        return RETRY  # the connection was gone before a command was written
    if isinstance(error, smtplib.SMTPResponseException) and not isinstance(error, smtplib.SMTPConnectError):
        # The server answered the command with an error: it did not take the email.
        return FAILED if 500 <= error.smtp_code < 600 and isinstance(
            error, (smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) else RETRY
    names = set().union(*(_names(e) for e in _chain(error)))
    if names & _MAYBE_SENT_NAMES:
        return UNKNOWN
    if names & _NOT_SENT_NAMES:
        return RETRY
    if isinstance(error, AnymailError) and not isinstance(error, AnymailAPIError):
        return FAILED  # refused by anymail itself before any request (invalid address, unsupported feature)
    return UNKNOWN
