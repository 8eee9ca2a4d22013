from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api import LIST_PARAMETERS, candidate_listing_response, service_error
from crm.models import Candidate
from crm.schema import CONFLICT
from crm.serializers import CandidateListSerializer
from crm.services import ServiceError

from . import selectors, services
from .models import Tag, TalentPool
from .segments import DefinitionError, default_sort, describe


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "category", "colour", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []


class TagListView(APIView):
    @extend_schema(responses=TagSerializer(many=True), summary="Tags", operation_id="tags_list")
    def get(self, request):
        return Response(TagSerializer(Tag.objects.all(), many=True).data)

    @extend_schema(request=TagSerializer, responses={201: TagSerializer}, summary="Create a tag")
    def post(self, request):
        serializer = TagSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            tag = services.tag_create(**serializer.validated_data)
        except ServiceError as error:
            return service_error(error)
        return Response(TagSerializer(tag).data, status=status.HTTP_201_CREATED)


class TagCandidateSerializer(serializers.Serializer):
    tag = serializers.IntegerField(help_text="A tag's id")


class CandidateTagsView(APIView):
    @extend_schema(request=TagCandidateSerializer, responses={200: TagSerializer(many=True)},
                   summary="Tag a candidate")
    def post(self, request, candidate_id):
        candidate = get_object_or_404(Candidate, pk=candidate_id)
        serializer = TagCandidateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tag = Tag.objects.filter(pk=serializer.validated_data["tag"]).first()
        if tag is None:
            return Response({"tag": ["No such tag."]}, status=status.HTTP_400_BAD_REQUEST)
        services.tag_candidates(tag=tag, candidate_ids=[candidate.pk], actor=request.auth)
        candidate.refresh_from_db()
        return Response(TagSerializer(Tag.objects.filter(pk__in=candidate.tag_ids), many=True).data)



# --- Bulk tagging ---------------------------------------------------------------------------

class OperationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    label = serializers.CharField()
    status = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    percent = serializers.IntegerField()
    message = serializers.CharField()
    result = serializers.JSONField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField()

    def get_url(self, operation) -> str:
        return f"/api/v1/operations/{operation.pk}/"


class BulkSerializer(serializers.Serializer):
    candidates = serializers.ListField(child=serializers.IntegerField(), required=False,
                                       help_text="Candidate ids (at most 10,000)")
    filter = serializers.DictField(required=False, help_text="The candidate list's filters, e.g. "
                                   '{"seniority": ["senior"], "skill": "python"}')
    pool = serializers.IntegerField(required=False, help_text="A pool's id: its members (with `filter`, narrowed)")


class BulkResultSerializer(serializers.Serializer):
    changed = serializers.IntegerField(allow_null=True)
    operation = OperationSerializer(allow_null=True)


def _bulk(request, action, target_id):
    serializer = BulkSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        changed, operation = services.bulk_action(action=action, target_id=target_id,
                                                  selection=dict(serializer.validated_data), actor=request.auth)
    except ServiceError as error:
        return service_error(error)
    if operation is not None:
        return Response({"changed": None, "operation": OperationSerializer(operation).data},
                        status=status.HTTP_202_ACCEPTED)
    return Response({"changed": changed, "operation": None})


class TagCandidatesBulkView(APIView):
    def _tag(self, tag_id):
        return get_object_or_404(Tag, pk=tag_id)

    @extend_schema(request=BulkSerializer, responses={200: BulkResultSerializer, 202: BulkResultSerializer},
                   summary="Tag many candidates",
                   description="Up to 2,000 candidates are tagged at once (200, `changed`); more run in the "
                               "background (202, `operation` to poll).")
    def post(self, request, tag_id):
        return _bulk(request, "tag", self._tag(tag_id).pk)

    @extend_schema(request=BulkSerializer, responses={200: BulkResultSerializer, 202: BulkResultSerializer},
                   summary="Untag many candidates")
    def delete(self, request, tag_id):
        return _bulk(request, "untag", self._tag(tag_id).pk)


class OperationDetailView(APIView):
    @extend_schema(responses=OperationSerializer, summary="A background job's progress")
    def get(self, request, operation_id):
        from crm.models import Operation

        return Response(OperationSerializer(get_object_or_404(Operation, pk=operation_id)).data)


# --- Pools --------------------------------------------------------------------------------------

class PoolSerializer(serializers.ModelSerializer):
    summary = serializers.SerializerMethodField()

    class Meta:
        model = TalentPool
        fields = ["id", "name", "description", "kind", "definition", "summary", "created_by_label", "created_at",
                  "updated_at"]
        read_only_fields = ["id", "summary", "created_by_label", "created_at", "updated_at"]
        validators = []

    def get_summary(self, pool) -> str:
        return describe(pool.definition) if pool.is_smart else "hand-picked"


def _definition_error(error):
    return Response({"definition": error.errors}, status=status.HTTP_400_BAD_REQUEST)


class PoolListView(APIView):
    @extend_schema(responses=PoolSerializer(many=True), summary="Talent pools", operation_id="pools_list")
    def get(self, request):
        return Response(PoolSerializer(TalentPool.objects.order_by("name"), many=True).data)

    @extend_schema(request=PoolSerializer, responses={201: PoolSerializer}, summary="Create a pool",
                   description="`kind` is `static` (members added by hand) or `smart` (`definition`: saved filters "
                               "tags_all/any/none, skills_all/any, seniority, source, language, location, "
                               "furthest_stage, rejection_reasons, silver_medalist, inactive_days, "
                               "active_within_days, active_after, active_before, consent {topic: state}).")
    def post(self, request):
        serializer = PoolSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            pool = services.pool_create(name=data["name"], kind=data["kind"], actor=request.auth,
                                        description=data.get("description", ""), definition=data.get("definition"))
        except ServiceError as error:
            return service_error(error)
        except DefinitionError as error:
            return _definition_error(error)
        return Response(PoolSerializer(pool).data, status=status.HTTP_201_CREATED)


class PoolDetailView(APIView):
    @extend_schema(responses=PoolSerializer, summary="A pool")
    def get(self, request, pool_id):
        return Response(PoolSerializer(get_object_or_404(TalentPool, pk=pool_id)).data)

    @extend_schema(request=PoolSerializer, responses=PoolSerializer, summary="Change a pool")
    def patch(self, request, pool_id):
        pool = get_object_or_404(TalentPool, pk=pool_id)
        serializer = PoolSerializer(pool, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            pool = services.pool_update(pool=pool, actor=request.auth, name=data.get("name"),
                                        description=data.get("description"), definition=data.get("definition"))
        except ServiceError as error:
            return service_error(error)
        except DefinitionError as error:
            return _definition_error(error)
        return Response(PoolSerializer(pool).data)

    @extend_schema(responses={204: None}, summary="Delete a pool (its candidates stay)")
    def delete(self, request, pool_id):
        services.pool_delete(pool=get_object_or_404(TalentPool, pk=pool_id), actor=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PoolCandidatesView(APIView):
    @extend_schema(parameters=LIST_PARAMETERS, responses={200: CandidateListSerializer, 409: CONFLICT},
                   summary="A pool's candidates",
                   description="Members (a smart pool's filters evaluated now), with the candidate list's filters, "
                               "cursor paging and a count capped at 1,000.")
    def get(self, request, pool_id):
        pool = get_object_or_404(TalentPool, pk=pool_id)
        try:
            queryset = selectors.pool_candidates(pool)
        except selectors.BrokenPool as error:
            return Response({"definition": error.errors}, status=status.HTTP_409_CONFLICT)
        return candidate_listing_response(request, queryset, cap=selectors.POOL_COUNT_CAP,
                                          default_ordering=default_sort(pool.definition) if pool.is_smart else None)


class MembersSerializer(serializers.Serializer):
    candidates = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=10_000)


class PoolMembersView(APIView):
    @extend_schema(request=MembersSerializer, responses={200: BulkResultSerializer},
                   summary="Add candidates to a hand-picked pool")
    def post(self, request, pool_id):
        pool = get_object_or_404(TalentPool, pk=pool_id)
        serializer = MembersSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = serializer.validated_data["candidates"]
        unknown = set(ids) - set(Candidate.objects.filter(pk__in=ids).values_list("pk", flat=True))
        if unknown:
            return Response({"candidates": [f"No such candidate: {', '.join(map(str, sorted(unknown)[:20]))}."]},
                            status=status.HTTP_400_BAD_REQUEST)
        try:
            added = services.pool_add_members(pool=pool, candidate_ids=ids, actor=request.auth)
        except ServiceError as error:
            return service_error(error)
        return Response({"changed": added, "operation": None})


class PoolMemberView(APIView):
    @extend_schema(responses={204: None}, summary="Take a candidate out of a hand-picked pool")
    def delete(self, request, pool_id, candidate_id):
        pool = get_object_or_404(TalentPool, pk=pool_id)
        candidate = get_object_or_404(Candidate, pk=candidate_id)
        try:
            removed = services.pool_remove_members(pool=pool, candidate_ids=[candidate.pk])
        except ServiceError as error:
            return service_error(error)
        if not removed:
            return Response({"detail": "This candidate is not a member of this pool."},
                            status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Matching ------------------------------------------------------------------------------------

class MatchSerializer(serializers.Serializer):
    candidate = serializers.SerializerMethodField()
    score = serializers.IntegerField()
    silver_medalist = serializers.SerializerMethodField()
    reasons = serializers.ListField(child=serializers.CharField())

    def get_candidate(self, match) -> dict:
        c = match.candidate
        return {"id": c.pk, "first_name": c.first_name, "last_name": c.last_name, "email": c.email,
                "headline": c.headline, "seniority": c.seniority, "skills": c.skills}

    def get_silver_medalist(self, match) -> bool:
        return match.candidate.silver_medalist


class JobMatchesView(APIView):
    @extend_schema(responses=MatchSerializer(many=True), summary="Candidates to reconnect with for a job",
                   parameters=[OpenApiParameter("limit", int, description="1 to 100, default 25")])
    def get(self, request, job_id):
        from crm.models import Job

        from .matching import job_matches

        job = get_object_or_404(Job, pk=job_id)
        try:
            limit = int(request.query_params.get("limit", 25))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            return Response({"limit": ["Use a whole number from 1 to 100."]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(MatchSerializer(job_matches(job, limit=limit), many=True).data)
