from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api import service_error
from crm.models import Candidate
from crm.services import ServiceError

from . import selectors, services
from .models import Frequency, PurposeKey


class ConsentStateSerializer(serializers.Serializer):
    purpose = serializers.CharField(source="purpose.key")
    state = serializers.CharField()
    frequency = serializers.CharField()
    granted_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class ConsentRecordSerializer(serializers.Serializer):
    purpose = serializers.CharField(source="purpose.key")
    action = serializers.CharField()
    source = serializers.CharField()
    frequency = serializers.CharField()
    text_version = serializers.IntegerField(source="text.version", default=None)
    created_at = serializers.DateTimeField()


class ConsentsSerializer(serializers.Serializer):
    states = ConsentStateSerializer(many=True)
    ledger = ConsentRecordSerializer(many=True)


class RecordConsentSerializer(serializers.Serializer):
    purposes = serializers.ListField(child=serializers.ChoiceField(choices=PurposeKey.choices), min_length=1)
    frequency = serializers.ChoiceField(choices=Frequency.choices, default=Frequency.MONTHLY)
    evidence = serializers.CharField(max_length=2000, help_text="How, when and where the candidate agreed.")


class CandidateConsentsView(APIView):
    @extend_schema(responses=ConsentsSerializer, summary="A candidate's consent: current states and ledger")
    def get(self, request, candidate_id):
        candidate = get_object_or_404(Candidate, pk=candidate_id)
        return Response(ConsentsSerializer({"states": selectors.states_for(candidate),
                                            "ledger": selectors.ledger_for(candidate)}).data)

    @extend_schema(request=RecordConsentSerializer, responses={201: ConsentsSerializer},
                   summary="Record consent given outside Silverpool, with evidence")
    def post(self, request, candidate_id):
        candidate = get_object_or_404(Candidate, pk=candidate_id)
        serializer = RecordConsentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        grants = {key: (data["frequency"] if key != PurposeKey.TALENT_POOL else "") for key in data["purposes"]}
        try:
            services.record_on_behalf(candidate=candidate, grants=grants, note=data["evidence"], actor=request.auth)
        except ServiceError as error:
            return service_error(error)
        return Response(ConsentsSerializer({"states": selectors.states_for(candidate),
                                            "ledger": selectors.ledger_for(candidate)}).data,
                        status=status.HTTP_201_CREATED)


class EraseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why (e.g. the candidate's request and its date).")


class CandidateEraseView(APIView):
    @extend_schema(request=EraseSerializer, responses={204: None}, summary="Erase a candidate (audited)")
    def post(self, request, candidate_id):
        from .rights import candidate_erase

        candidate = get_object_or_404(Candidate, pk=candidate_id)
        serializer = EraseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            candidate_erase(candidate=candidate, actor=request.auth, reason=serializer.validated_data["reason"])
        except ServiceError as error:
            return service_error(error)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CandidateExportView(APIView):
    @extend_schema(responses={200: dict}, summary="Everything held about a candidate (audited)")
    def get(self, request, candidate_id):
        from crm.audit import audit

        from .rights import candidate_export

        candidate = get_object_or_404(Candidate, pk=candidate_id)
        audit("candidate.exported", actor=request.auth, obj=candidate, details={"format": "json"})
        return Response(candidate_export(candidate))
