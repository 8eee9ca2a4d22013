"""JSON errors with field names for every API failure."""

from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

API_PREFIX = "/api/"
# Headers of an error response that still apply once its body is JSON.
KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")
MESSAGES = {
    400: "Bad request.",
    403: "You do not have permission to perform this action.",
    404: "No such API endpoint; /api/schema/ lists them all.",
    500: "Something went wrong on our side; nothing was half-saved. Please try again.",
}


class RequestBodyTooLarge(exceptions.APIException):
    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self):
        super().__init__(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes.")


def exception_handler(exc, context):
    """DRF's handler, plus Django's 404 and validation errors as JSON with field names."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestBodyTooLarge()
    return drf_exception_handler(exc, context)


def json_error(status, message):
    return JsonResponse({"detail": message}, status=status)


class ApiJsonErrorsMiddleware:
    """Every error under /api/ is JSON with a `detail`, as DRF's own are: an unknown path's 404,
    an oversized body's 413, and whatever Django answered before or after DRF saw the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        if _over_memory_limit(request):
            return json_error(RequestBodyTooLarge.status_code, str(RequestBodyTooLarge().detail))
        response = self.get_response(request)
        if response.status_code < 400 or response.streaming or "json" in response.get("Content-Type", ""):
            return response
        status = response.status_code
        replaced = json_error(status, MESSAGES.get(status) or _phrase(status))
        for header in KEPT_HEADERS:
            if header in response:
                replaced[header] = response[header]
        return replaced


def _phrase(status):
    try:
        return f"{HTTPStatus(status).phrase}."
    except ValueError:
        return "The request failed."


def _over_memory_limit(request):
    """A body declared larger than Django would read into memory; uploaded files do not count (Django's rule)."""
    if settings.DATA_UPLOAD_MAX_MEMORY_SIZE is None or request.content_type == "multipart/form-data":
        return False
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    except ValueError:
        return False
