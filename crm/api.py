from collections.abc import Mapping

from django.shortcuts import get_object_or_404
from django.utils.http import urlencode
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors, services
from .filters import SORTS, CandidateFilter, default_sort
from .pagination import InvalidCursor
from .serializers import CandidateListSerializer, CandidateSerializer, WhoAmISerializer
from .services import DuplicateCandidate, ServiceError


class WhoAmIView(APIView):
    """The organization and key a request is made with: a cheap way to test a key."""

    @extend_schema(responses=WhoAmISerializer, summary="The organization and scope of this API key")
    def get(self, request):
        return Response(WhoAmISerializer({"organization": request.auth.organization, "api_key": request.auth}).data)


def service_error(error):
    """A refused use case as a 400 naming the field."""
    body = {error.field or "non_field_errors": [error.message]}
    if isinstance(error, DuplicateCandidate):
        body["existing_id"] = error.existing.pk
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def request_fields(request):
    """The body's fields, to merge a key from the path into; a body that is not an object is refused as the
    serializers refuse it."""
    if not isinstance(request.data, Mapping):
        raise ValidationError({"non_field_errors": [
            f"Invalid data. Expected a dictionary, but got {type(request.data).__name__}."]})
    return request.data


def _split_do_not_contact(data):
    dnc = {k: data.pop(k) for k in ("do_not_contact", "do_not_contact_reason") if k in data}
    return data, dnc


def _apply_do_not_contact(candidate, dnc, actor):
    if "do_not_contact" in dnc:
        return services.candidate_set_do_not_contact(
            candidate=candidate, actor=actor, do_not_contact=dnc["do_not_contact"],
            reason=dnc.get("do_not_contact_reason", ""),
        )
    return candidate


LIST_PARAMETERS = [
    OpenApiParameter("q", str, description="Search names, email, title and skills (3+ characters a word)"),
    OpenApiParameter("seniority", str, many=True), OpenApiParameter("source", str, many=True),
    OpenApiParameter("location", str, description="Location starts with"),
    OpenApiParameter("skill", str), OpenApiParameter("do_not_contact", bool),
    OpenApiParameter("silver_medalist", bool), OpenApiParameter("active_after", OpenApiTypes.DATE),
    OpenApiParameter("active_before", OpenApiTypes.DATE), OpenApiParameter("external_id", str),
    OpenApiParameter("email", str),
    OpenApiParameter("ordering", str, enum=list(SORTS)),
    OpenApiParameter("cursor", str, description="From the `next` URL of the previous page"),
    OpenApiParameter("page_size", int, description="1 to 100, default 50"),
]


# Every column the API's candidate carries, read with the page's rows in one query.
API_COLUMNS = ("organization_id", *CandidateSerializer.Meta.fields)


def candidate_listing_response(request, queryset, *, default_ordering=None, cap=None):
    """A page of `queryset` narrowed by the list's filters, as the candidate list answers it."""
    filterset = CandidateFilter(request.query_params, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    ordering = (request.query_params.get("ordering") or default_ordering
                or default_sort(request.query_params))
    if ordering not in SORTS:
        raise ValidationError({"ordering": [f"Choose one of {', '.join(SORTS)}."]})
    try:
        size = int(request.query_params.get("page_size", 50))
    except ValueError:
        size = 0
    if not 1 <= size <= 100:
        raise ValidationError({"page_size": ["Use a whole number from 1 to 100."]})
    try:
        listing = selectors.candidate_listing(filterset.qs, sort=ordering,
                                              cursor=request.query_params.get("cursor") or None, size=size, cap=cap,
                                              columns=API_COLUMNS)
    except InvalidCursor as error:
        raise ValidationError({"cursor": [str(error)]}) from error
    next_url = None
    if listing.page.next_cursor:
        params = request.query_params.copy()
        params["cursor"] = listing.page.next_cursor
        next_url = request.build_absolute_uri(request.path) + "?" + urlencode(params, doseq=True)
    return Response({
        "count": listing.count,
        "count_is_capped": listing.count_is_capped,
        "next": next_url,
        "results": CandidateSerializer(listing.page.rows, many=True).data,
    })


class CandidateListView(APIView):
    @extend_schema(parameters=LIST_PARAMETERS, responses=CandidateListSerializer, summary="List candidates",
                   operation_id="candidates_list")
    def get(self, request):
        return candidate_listing_response(request, selectors.candidates())

    @extend_schema(request=CandidateSerializer, responses={201: CandidateSerializer}, summary="Add a candidate")
    def post(self, request):
        serializer = CandidateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data, dnc = _split_do_not_contact(dict(serializer.validated_data))
        try:
            candidate = services.candidate_create(actor=request.auth, **data)
            candidate = _apply_do_not_contact(candidate, dnc, request.auth)
        except ServiceError as error:
            return service_error(error)
        return Response(CandidateSerializer(candidate).data, status=status.HTTP_201_CREATED)


class CandidateDetailView(APIView):
    def get_object(self, candidate_id):
        return get_object_or_404(selectors.candidates(), pk=candidate_id)

    @extend_schema(responses=CandidateSerializer, summary="A candidate")
    def get(self, request, candidate_id):
        return Response(CandidateSerializer(self.get_object(candidate_id)).data)

    def _update(self, request, candidate, partial):
        serializer = CandidateSerializer(candidate, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data, dnc = _split_do_not_contact(dict(serializer.validated_data))
        try:
            candidate, _ = services.candidate_update(candidate=candidate, actor=request.auth, data=data)
            candidate = _apply_do_not_contact(candidate, dnc, request.auth)
        except ServiceError as error:
            return service_error(error)
        return Response(CandidateSerializer(candidate).data)

    @extend_schema(request=CandidateSerializer, responses=CandidateSerializer, summary="Change a candidate")
    def patch(self, request, candidate_id):
        return self._update(request, self.get_object(candidate_id), partial=True)

    @extend_schema(request=CandidateSerializer, responses=CandidateSerializer, summary="Replace a candidate")
    def put(self, request, candidate_id):
        return self._update(request, self.get_object(candidate_id), partial=False)

    @extend_schema(responses={204: None}, summary="Delete a candidate")
    def delete(self, request, candidate_id):
        services.candidate_delete(candidate=self.get_object(candidate_id), actor=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CandidateUpsertView(APIView):
    """Create or update by a key the ATS knows: a retried request never creates a duplicate."""

    match = None

    def _lookup(self, key):
        if self.match == "external_id":
            return selectors.candidates().filter(external_id=key)
        return selectors.candidates().filter(email__iexact=key)

    @extend_schema(responses=CandidateSerializer, summary="A candidate by this key")
    def get(self, request, key):
        return Response(CandidateSerializer(get_object_or_404(self._lookup(key))).data)

    @extend_schema(request=CandidateSerializer, responses={200: CandidateSerializer, 201: CandidateSerializer},
                   summary="Create or update a candidate by this key")
    def put(self, request, key):
        existing = self._lookup(key).first()
        serializer = CandidateSerializer(existing, data={**request_fields(request), self.match: key}, partial=existing is not None)
        serializer.is_valid(raise_exception=True)
        data, dnc = _split_do_not_contact(dict(serializer.validated_data))
        data.pop(self.match, None)
        try:
            candidate, created = services.candidate_upsert(actor=request.auth, match=self.match, key=key, data=data)
            candidate = _apply_do_not_contact(candidate, dnc, request.auth)
        except ServiceError as error:
            return service_error(error)
        return Response(CandidateSerializer(candidate).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class CandidateByExternalIdView(CandidateUpsertView):
    match = "external_id"


class CandidateByEmailView(CandidateUpsertView):
    match = "email"


