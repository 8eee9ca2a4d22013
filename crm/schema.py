"""The OpenAPI document: the API key scheme, and every error an operation can answer."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions

from .api_auth import HasApiKeyScope

ERROR = ResolvedComponent(
    name="Error", type=ResolvedComponent.SCHEMA, object="Error",
    schema={
        "type": "object",
        "description": "What went wrong, in a sentence.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
)
FIELD_ERRORS = ResolvedComponent(
    name="FieldErrors", type=ResolvedComponent.SCHEMA, object="FieldErrors",
    schema={
        "type": "object",
        "description": "Each refused field with its messages (`{\"email\": [\"Enter a valid email address.\"]}`; "
                       "a nested field's messages nest the same way), `non_field_errors` for the request as a "
                       "whole, or `detail` when the body could not be read at all (malformed JSON, nested too "
                       "deeply).",
        "properties": {
            "detail": {"type": "string"},
            "non_field_errors": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": {},
    },
)
ERROR_DESCRIPTIONS = {
    "400": "The request was refused: the fields at fault are named.",
    "401": "No API key, or a wrong or revoked one.",
    "403": "This API key is read-only; this request needs a read-write key.",
    "404": "No such object in this organization (another organization's ids answer the same).",
    "409": "The object's state does not allow this now; the body says why.",
    "413": "The request body is larger than the server accepts.",
    "429": "Too many requests with this API key; `Retry-After` says when to try again.",
}
# An operation that can refuse because of the object's state lists this in its responses.
CONFLICT = OpenApiResponse(response=FIELD_ERRORS.ref, description=ERROR_DESCRIPTIONS["409"])


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "crm.api_auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organization's API key, created by an admin under Settings → API keys.",
        }


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the error responses each operation can answer, all as JSON."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            component = FIELD_ERRORS if code in ("400", "409") else ERROR
            self.registry.register_on_missing(component)
            responses.setdefault(code, {
                "description": ERROR_DESCRIPTIONS[code],
                "content": {"application/json": {"schema": component.ref}},
            })
        if "409" in responses:
            self.registry.register_on_missing(FIELD_ERRORS)
        return dict(sorted(responses.items()))

    def _error_codes(self):
        writes = self.method not in permissions.SAFE_METHODS
        codes = []
        if writes or any(p["in"] == "query" for p in self._get_parameters()):
            codes.append("400")
        if self.view.get_authenticators():
            codes.append("401")
        if writes and any(isinstance(p, HasApiKeyScope) for p in self.view.get_permissions()):
            codes.append("403")
        if "{" in self.path:
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("413")
        if self.view.get_throttles():
            codes.append("429")
        return codes
