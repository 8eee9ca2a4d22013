"""REST API for an ATS: jobs, applications, decisions and feedback."""

from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .api import request_fields, service_error
from .models import Application, Candidate, Job, Membership, RejectionReason, Role, Stage, User
from .schema import CONFLICT
from .serializers import (
    AdvanceSerializer,
    ApplicationSerializer,
    DeclineOfferSerializer,
    FeedbackNoteSerializer,
    JobSerializer,
    RejectionReasonSerializer,
    RejectSerializer,
)
from .services import ServiceError


def _hiring_managers(emails):
    if emails is None:
        return None
    users = list(User.objects.filter(
        email__in=[e.lower() for e in emails],
        pk__in=Membership.objects.filter(role__in=[Role.HIRING_MANAGER, Role.ADMIN, Role.RECRUITER]).values("user_id"),
    ))
    missing = sorted(set(e.lower() for e in emails) - {u.email for u in users})
    if missing:
        raise ValidationError({"hiring_managers": [f"Not a member of this organization: {', '.join(missing)}."]})
    return users


class JobListView(APIView):
    @extend_schema(responses=JobSerializer(many=True), summary="List jobs", operation_id="jobs_list",
                   parameters=[OpenApiParameter("status", str), OpenApiParameter("external_id", str)])
    def get(self, request):
        jobs = Job.objects.order_by("-created_at", "-id")
        for name in ("status", "external_id"):
            if request.query_params.get(name):
                jobs = jobs.filter(**{name: request.query_params[name]})
        return Response(JobSerializer(jobs[:500], many=True).data)

    @extend_schema(request=JobSerializer, responses={201: JobSerializer}, summary="Create a job")
    def post(self, request):
        serializer = JobSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        managers = _hiring_managers(data.pop("hiring_managers", None))
        try:
            job = services.job_save(actor=request.auth, hiring_managers=managers, **data)
        except ServiceError as error:
            return service_error(error)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class JobDetailView(APIView):
    @extend_schema(responses=JobSerializer, summary="A job")
    def get(self, request, job_id):
        return Response(JobSerializer(get_object_or_404(Job, pk=job_id)).data)

    @extend_schema(request=JobSerializer, responses=JobSerializer, summary="Change a job")
    def patch(self, request, job_id):
        job = get_object_or_404(Job, pk=job_id)
        serializer = JobSerializer(job, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        managers = _hiring_managers(data.pop("hiring_managers", None))
        try:
            job = services.job_save(actor=request.auth, job=job, hiring_managers=managers, **data)
        except ServiceError as error:
            return service_error(error)
        return Response(JobSerializer(job).data)


class JobByExternalIdView(APIView):
    @extend_schema(request=JobSerializer, responses={200: JobSerializer, 201: JobSerializer},
                   summary="Create or update a job by its external id")
    def put(self, request, key):
        with transaction.atomic():
            job = Job.objects.select_for_update().filter(external_id=key).first()
            serializer = JobSerializer(job, data={**request_fields(request), "external_id": key}, partial=job is not None)
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
            managers = _hiring_managers(data.pop("hiring_managers", None))
            try:
                saved = services.job_save(actor=request.auth, job=job, hiring_managers=managers, **data)
            except ServiceError as error:
                return service_error(error)
        return Response(JobSerializer(saved).data, status=status.HTTP_201_CREATED if job is None else 200)


APPLICATION_FILTERS = [
    OpenApiParameter("job", int), OpenApiParameter("candidate", int), OpenApiParameter("stage", str),
    OpenApiParameter("decided_after", OpenApiTypes.DATETIME), OpenApiParameter("external_id", str),
]


def _int_param(request, name):
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError as error:
        raise ValidationError({name: ["Use a whole number."]}) from error


class ApplicationListView(APIView):
    @extend_schema(parameters=APPLICATION_FILTERS, responses=ApplicationSerializer(many=True),
                   summary="List applications", operation_id="applications_list")
    def get(self, request):
        from django.utils.dateparse import parse_datetime

        applications = Application.objects.select_related("rejection_reason").order_by("-id")
        filters = Q()
        for name in ("job", "candidate"):
            value = _int_param(request, name)
            if value is not None:
                filters &= Q(**{f"{name}_id": value})
        stage = request.query_params.get("stage")
        if stage:
            if stage not in Stage.values:
                raise ValidationError({"stage": [f"Unknown stage; use one of {', '.join(Stage.values)}."]})
            filters &= Q(stage=stage)
        decided_after = request.query_params.get("decided_after")
        if decided_after:
            moment = parse_datetime(decided_after)
            if moment is None:
                raise ValidationError({"decided_after": ["Use an ISO 8601 date and time."]})
            filters &= Q(decided_at__gt=moment)
        if request.query_params.get("external_id"):
            filters &= Q(external_id=request.query_params["external_id"])
        return Response(ApplicationSerializer(applications.filter(filters)[:500], many=True).data)

    @extend_schema(request=ApplicationSerializer, responses={201: ApplicationSerializer},
                   summary="Add an application")
    def post(self, request):
        return _create_application(request, request.data)


def _create_application(request, data, external_id=""):
    serializer = ApplicationSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    values = serializer.validated_data
    # Another organization's ids get the same answer as ids that do not exist.
    candidate = Candidate.objects.filter(pk=values["candidate_id"]).first()
    job = Job.objects.filter(pk=values["job_id"]).first()
    errors = {}
    if candidate is None:
        errors["candidate"] = ["No such candidate."]
    if job is None:
        errors["job"] = ["No such job."]
    if errors:
        raise ValidationError(errors)
    try:
        application = services.application_create(
            actor=request.auth, candidate=candidate, job=job, stage=values.get("stage", Stage.APPLIED),
            external_id=external_id or values.get("external_id", ""), applied_at=values.get("applied_at"),
        )
    except ServiceError as error:
        return service_error(error)
    return Response(ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)


class ApplicationDetailView(APIView):
    @extend_schema(responses=ApplicationSerializer, summary="An application")
    def get(self, request, application_id):
        return Response(ApplicationSerializer(get_object_or_404(Application, pk=application_id)).data)


class ApplicationByExternalIdView(APIView):
    @extend_schema(request=ApplicationSerializer, responses={200: ApplicationSerializer, 201: ApplicationSerializer},
                   summary="Create an application by its external id, or return it if it exists")
    def put(self, request, key):
        existing = Application.objects.filter(external_id=key).first()
        if existing is not None:
            return Response(ApplicationSerializer(existing).data)
        return _create_application(request, {**request_fields(request), "external_id": key}, external_id=key)


class _DecisionView(APIView):
    serializer_class = None

    def post(self, request, application_id):
        application = get_object_or_404(Application, pk=application_id)
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            application = self.decide(application, serializer.validated_data, request.auth)
        except ServiceError as error:
            response = service_error(error)
            if error.field in ("stage", "version"):
                response.status_code = status.HTTP_409_CONFLICT
            return response
        return Response(ApplicationSerializer(application).data)


class AdvanceView(_DecisionView):
    serializer_class = AdvanceSerializer

    @extend_schema(request=AdvanceSerializer, responses={200: ApplicationSerializer, 409: CONFLICT},
                   summary="Move to a stage")
    def post(self, request, application_id):
        return super().post(request, application_id)

    def decide(self, application, data, actor):
        return services.application_advance(application=application, to_stage=data["stage"], actor=actor,
                                            expected_version=data.get("version"))


def _reason(value):
    reasons = RejectionReason.objects.filter(active=True)
    found = reasons.filter(pk=int(value)).first() if str(value).isdigit() else reasons.filter(
        label__iexact=value.strip()).first()
    if found is None:
        raise ValidationError({"reason": ["Unknown rejection reason; GET /api/v1/rejection-reasons/ lists them."]})
    return found


class RejectView(_DecisionView):
    serializer_class = RejectSerializer

    @extend_schema(request=RejectSerializer, responses={200: ApplicationSerializer, 409: CONFLICT}, summary="Reject")
    def post(self, request, application_id):
        return super().post(request, application_id)

    def decide(self, application, data, actor):
        from .notices import notice_template_error

        error = notice_template_error(data["template"], application)
        if error:
            raise ValidationError({"template": [error]})
        plan = {"scheduled": "morning", "now": "now", "none": "none"}[data["send_email"]]
        return services.application_reject(application=application, reason=_reason(data["reason"]),
                                           note=data["note"], actor=actor, expected_version=data.get("version"),
                                           notice_plan=plan, notice_skip_reason=data["skip_reason"],
                                           notice_template_id=data["template"])


class DeclineOfferView(_DecisionView):
    serializer_class = DeclineOfferSerializer

    @extend_schema(request=DeclineOfferSerializer, responses={200: ApplicationSerializer, 409: CONFLICT},
                   summary="The offer was declined")
    def post(self, request, application_id):
        return super().post(request, application_id)

    def decide(self, application, data, actor):
        return services.application_decline_offer(application=application, reason=data["reason"],
                                                  note=data["note"], actor=actor,
                                                  expected_version=data.get("version"))


class RejectionNoticeSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="The rejection email's state: cancelled when it had not gone yet; "
                                             "sent, delivered, opened, clicked, bounced… when it had.")
    label = serializers.CharField(help_text="The state as the Outbox page shows it.")
    gone = serializers.BooleanField(help_text="Whether the email had already left (undoing could not stop it).")


class UndoRejectionSerializer(ApplicationSerializer):
    notice = RejectionNoticeSerializer(allow_null=True, read_only=True,
                                       help_text="The rejection email, if one was planned; null otherwise.")
    warning = serializers.CharField(allow_null=True, read_only=True,
                                    help_text="Set when the rejection email had already gone: tell the candidate.")

    class Meta(ApplicationSerializer.Meta):
        fields = [*ApplicationSerializer.Meta.fields, "notice", "warning"]


# Notice states in which the email has not left: undoing the rejection cancels it (the page says the same).
NOT_GONE = ("cancelled", "review", "queued")


class UndoRejectionView(APIView):
    @extend_schema(request=None, responses={200: UndoRejectionSerializer, 409: CONFLICT}, summary="Undo a rejection",
                   description="Back to the stage the rejection was made at. A rejection email not sent yet is "
                               "cancelled; one that had already gone is reported in `notice` and `warning`.")
    def post(self, request, application_id):
        from .notices import notice_statuses

        application = get_object_or_404(Application, pk=application_id)
        try:
            application = services.application_undo_rejection(application=application, actor=request.auth)
        except ServiceError as error:
            response = service_error(error)
            response.status_code = status.HTTP_409_CONFLICT
            return response
        found = notice_statuses([application.pk]).get(application.pk)
        application.notice = None
        application.warning = None
        if found:
            gone = found[0] not in NOT_GONE
            application.notice = {"status": found[0], "label": found[1], "gone": gone}
            if gone:
                application.warning = (f"The rejection email had already gone ({found[1].lower()}); "
                                       "tell the candidate yourself.")
        return Response(UndoRejectionSerializer(application).data)


class FeedbackView(APIView):
    @extend_schema(responses=FeedbackNoteSerializer(many=True), summary="Feedback notes of an application")
    def get(self, request, application_id):
        application = get_object_or_404(Application, pk=application_id)
        return Response(FeedbackNoteSerializer(application.feedback_notes.all(), many=True).data)

    @extend_schema(request=FeedbackNoteSerializer, responses={201: FeedbackNoteSerializer},
                   summary="Add a feedback note")
    def post(self, request, application_id):
        application = get_object_or_404(Application, pk=application_id)
        serializer = FeedbackNoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            note = services.feedback_note_create(application=application, author=request.auth,
                                                 **serializer.validated_data)
        except ServiceError as error:
            return service_error(error)
        return Response(FeedbackNoteSerializer(note).data, status=status.HTTP_201_CREATED)


class RejectionReasonListView(APIView):
    @extend_schema(summary="The organization's rejection reasons", responses=RejectionReasonSerializer(many=True),
                   operation_id="rejection_reasons_list")
    def get(self, request):
        return Response([{"id": r.pk, "label": r.label, "candidate_text": r.candidate_text}
                         for r in RejectionReason.objects.filter(active=True)])


