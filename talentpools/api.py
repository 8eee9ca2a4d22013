from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api import service_error
from crm.models import Candidate
from crm.services import ServiceError

from . import services
from .models import Tag


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

