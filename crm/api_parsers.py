"""Request parsers for the API: JSON that cannot exhaust the server."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Deeper than any body the API reads (a pool's definition is two levels), far below Python's recursion limit.
MAX_JSON_DEPTH = 32
TOO_DEEP = f"JSON parse error - the document is nested more than {MAX_JSON_DEPTH} levels deep."


def json_depth_exceeds(value, limit=MAX_JSON_DEPTH):
    """Whether objects and arrays in `value` nest deeper than `limit`, walked without recursion."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; a document nested too deeply is a 400 saying so, never a RecursionError."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError(TOO_DEEP) from error
        if json_depth_exceeds(data):
            raise ParseError(TOO_DEEP)
        return data
