"""Text PostgreSQL cannot store is refused at the door, with the field that carried it.

PostgreSQL refuses NUL characters in text and psycopg cannot encode lone surrogates (which arrive
as `\\ud800` escapes in JSON, or as the malformed UTF-8 bytes ED A0 80 in a form, a query string
or a path; Django would quietly turn those into U+FFFD or a literal `%ED%A0%80`). One check before
any view runs covers the query string, the path's parameters, form fields and JSON bodies (nested
too), so no look-up, upsert or JSON definition ever meets them: the answer is 400 naming the field,
and nothing is written.
"""

import json
import re
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import JsonResponse, RawPostDataException
from django.shortcuts import render

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "This contains a character that cannot be stored (a NUL character or an invalid Unicode sequence)."
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def has_unstorable_text(value):
    """True when `value` (a string) holds a NUL character or a lone surrogate."""
    return isinstance(value, str) and UNSTORABLE.search(value) is not None


def printable(name):
    """A field name safe to show back: the offending characters spelled as escapes."""
    return UNSTORABLE.sub(lambda match: ascii(match.group())[1:-1], name)[:100]


def unstorable_in_json(data):
    """(field, where) of the first key or string in `data` that cannot be stored, else None.

    `field` is the top-level key (what an API error is keyed by), `where` the full path inside it.
    Walked without recursion: the body may be nested deeper than Python's stack.
    """
    stack = [(data, None, "")]
    while stack:
        value, field, where = stack.pop()
        if isinstance(value, str):
            if has_unstorable_text(value):
                return field or "non_field_errors", where
        elif isinstance(value, dict):
            for key, item in value.items():
                key_field = field if field is not None else printable(str(key))
                key_where = f"{where}.{printable(str(key))}" if where else printable(str(key))
                if has_unstorable_text(key):
                    return key_field, key_where
                stack.append((item, key_field, key_where))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                stack.append((item, field, f"{where}[{index}]"))
    return None


def unstorable_in_urlencoded(raw):
    """The name of the first pair of an `a=1&b=2` string (bytes) whose name or value cannot be stored."""
    for pair in raw.replace(b";", b"&").split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        name_bytes, value_bytes = (unquote_to_bytes(part.replace(b"+", b" ")) for part in (name, value))
        shown = printable(name_bytes.decode("utf-8", "replace")) or "?"
        for part in (name_bytes, value_bytes):
            try:
                text = part.decode("utf-8")  # strict: malformed UTF-8 is how a lone surrogate travels here
            except UnicodeDecodeError:
                return shown
            if has_unstorable_text(text):
                return shown
    return None


class UnstorableTextMiddleware:
    """Answers 400 naming the field when a request carries text that cannot be stored (see the module)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "checks_unstorable_json", False) and _is_json(request):
            return None  # the provider webhooks' guard checks the JSON it parses anyway (outreach.webhooks)
        problem = self.find(request, view_kwargs)
        if problem is None:
            return None
        field, where = problem
        if request.path_info.startswith("/api/"):
            message = MESSAGE if where == field else f"{MESSAGE} At {where}."
            return JsonResponse({field: [message]}, status=400)
        return render(request, "crm/unstorable_text.html", {"field": where, "message": MESSAGE}, status=400)

    def find(self, request, view_kwargs):
        """(field, where) of the first place in the request holding unstorable text, else None."""
        for name, value in view_kwargs.items():
            # Django re-percent-encodes malformed UTF-8 in a path, so a parameter holds "%ED%A0%80" for it.
            if isinstance(value, str) and (has_unstorable_text(value) or not _is_utf8(unquote_to_bytes(value))):
                return name, name
        query = request.META.get("QUERY_STRING", "").encode("latin-1", "replace")
        if (name := unstorable_in_urlencoded(query)) is not None:
            return name, name
        if request.method not in BODY_METHODS:
            return None
        if request.content_type == "multipart/form-data":
            if _body_fits_in_memory(request):
                try:
                    request.body  # noqa: B018  (read first, so a view that needs the raw body still has it)
                except RawPostDataException:
                    pass  # an earlier middleware (CSRF) parsed the form already: the fields are there
            # Django's multipart parser already replaced malformed UTF-8; a NUL character survives it.
            for name, values in request.POST.lists():
                if has_unstorable_text(name) or any(has_unstorable_text(value) for value in values):
                    return printable(name), printable(name)
            return None
        if not _body_fits_in_memory(request):
            return None
        if request.content_type == "application/x-www-form-urlencoded":
            name = unstorable_in_urlencoded(request.body)
            return (name, name) if name is not None else None
        if _is_json(request):
            try:
                data = json.loads(request.body)  # bytes: decoded with surrogatepass, so ED A0 80 shows up
            except (ValueError, RecursionError):
                return None  # malformed JSON is the parser's answer to give
            return unstorable_in_json(data)
        return None


def _is_json(request):
    return request.content_type == "application/json" or request.content_type.endswith("+json")


def _is_utf8(raw):
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _body_fits_in_memory(request):
    # Larger bodies are refused by the request's own size limit, never read here.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return limit is None or length <= limit
