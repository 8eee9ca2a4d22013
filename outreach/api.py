from django.db.models import Count
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.schema import CONFLICT
from crm.services import ServiceError

from . import campaign_stats, campaigns
from .models import (
    Campaign,
    CampaignRun,
    EmailTemplate,
    Message,
    MessageEvent,
    MessageStatus,
    Rsvp,
    TemplateKind,
)


class MessageEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = MessageEvent
        fields = ["event_type", "occurred_at", "description"]


class MessageSerializer(serializers.ModelSerializer):
    events = MessageEventSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = ["id", "candidate", "application", "kind", "purpose", "to_email", "subject", "status",
                  "status_reason", "send_after", "sent_at", "provider_message_id", "template", "template_version",
                  "events", "created_at"]


class TemplateSerializer(serializers.ModelSerializer):
    purpose = serializers.CharField(read_only=True, help_text="transactional or marketing")

    class Meta:
        model = EmailTemplate
        fields = ["id", "kind", "purpose", "language", "name", "subject", "active", "version", "updated_at"]


class MessageListView(APIView):
    @extend_schema(summary="The outbox", operation_id="messages_list", responses=MessageSerializer(many=True),
                   parameters=[OpenApiParameter("candidate", int), OpenApiParameter("kind", str, enum=TemplateKind.values),
                               OpenApiParameter("status", str, enum=MessageStatus.values)])
    def get(self, request):
        messages = Message.objects.prefetch_related("events").order_by("-id")
        params = request.query_params
        if params.get("candidate"):
            if not params["candidate"].isdigit():
                raise ValidationError({"candidate": ["Use a candidate's id."]})
            messages = messages.filter(candidate_id=int(params["candidate"]))
        for name, values in (("kind", TemplateKind.values), ("status", MessageStatus.values)):
            if params.get(name):
                if params[name] not in values:
                    raise ValidationError({name: [f"Use one of {', '.join(values)}."]})
                messages = messages.filter(**{name: params[name]})
        return Response(MessageSerializer(messages[:500], many=True).data)


class TemplateListView(APIView):
    @extend_schema(summary="Email templates", operation_id="templates_list", responses=TemplateSerializer(many=True))
    def get(self, request):
        return Response(TemplateSerializer(EmailTemplate.objects.all(), many=True).data)


# --- Campaigns -----------------------------------------------------------------------------------

class CampaignSerializer(serializers.ModelSerializer):
    template = serializers.IntegerField(source="template_id", help_text="An email template's id of a matching kind")
    language_templates = serializers.DictField(child=serializers.IntegerField(), required=False,
                                               help_text="{language: template id} for recipients in that language")

    class Meta:
        model = Campaign
        fields = ["id", "name", "topic", "pool_ids", "filters", "template", "language_templates", "schedule",
                  "scheduled_at", "weekday", "day_of_month", "send_time", "max_jobs", "event_name", "event_starts_at",
                  "event_place", "referral", "sender_name", "status", "next_run_at", "created_by_label", "created_at",
                  "launched_at"]
        read_only_fields = ["id", "status", "next_run_at", "created_by_label", "created_at", "launched_at"]
        extra_kwargs = {"pool_ids": {"help_text": "Pool ids: the audience is their union"},
                        "filters": {"help_text": "Extra filters, as a smart pool's definition (e.g. inactive_days)"}}


def _campaign_data(serializer):
    data = dict(serializer.validated_data)
    if "template_id" in data:
        data["template"] = data.pop("template_id")
    return data


def _campaign_errors(error):
    errors = getattr(error, "errors", None) or {error.field or "non_field_errors": error.message}
    return Response({field: [message] for field, message in errors.items()}, status=status.HTTP_400_BAD_REQUEST)


class CampaignListView(APIView):
    @extend_schema(summary="Campaigns", operation_id="campaigns_list", responses=CampaignSerializer(many=True))
    def get(self, request):
        return Response(CampaignSerializer(Campaign.objects.order_by("-created_at")[:500], many=True).data)

    @extend_schema(summary="Create a draft campaign", request=CampaignSerializer, responses={201: CampaignSerializer})
    def post(self, request):
        serializer = CampaignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            campaign = campaigns.campaign_save(actor=request.auth, **_campaign_data(serializer))
        except ServiceError as error:
            return _campaign_errors(error)
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailView(APIView):
    @extend_schema(summary="A campaign", responses=CampaignSerializer)
    def get(self, request, campaign_id):
        return Response(CampaignSerializer(get_object_or_404(Campaign, pk=campaign_id)).data)

    @extend_schema(summary="Change a draft campaign", request=CampaignSerializer,
                   responses={200: CampaignSerializer, 409: CONFLICT})
    def patch(self, request, campaign_id):
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        serializer = CampaignSerializer(campaign, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            campaign = campaigns.campaign_save(actor=request.auth, campaign=campaign, **_campaign_data(serializer))
        except ServiceError as error:
            if error.field == "status":
                return Response({"status": [error.message]}, status=status.HTTP_409_CONFLICT)
            return _campaign_errors(error)
        return Response(CampaignSerializer(campaign).data)


class CampaignActionView(APIView):
    action = None

    @extend_schema(request=None, responses={200: CampaignSerializer, 409: CONFLICT},
                   description="Launch is idempotent: launching again returns the campaign unchanged. Pause, resume "
                               "and cancel answer 409 when the campaign is not in a state that allows them.")
    def post(self, request, campaign_id):
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        try:
            if self.action == "launch":
                campaign, _ = campaigns.campaign_launch(campaign=campaign, actor=request.auth)
            else:
                campaign = getattr(campaigns, f"campaign_{self.action}")(campaign=campaign, actor=request.auth)
        except ServiceError as error:
            if error.field == "status":
                return Response({"status": [error.message]}, status=status.HTTP_409_CONFLICT)
            return _campaign_errors(error)
        return Response(CampaignSerializer(campaign).data)


class CampaignStatsView(APIView):
    @extend_schema(summary="A campaign's results, per run and in total", responses=OpenApiTypes.OBJECT)
    def get(self, request, campaign_id):
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        tracking = request.auth.organization.open_tracking
        runs = list(CampaignRun.objects.filter(campaign=campaign).order_by("-planned_for"))
        progress = campaign_stats.runs_progress(runs)
        results = campaign_stats.runs_results(runs, topic=campaign.purpose_key, open_tracking=tracking)
        runs = [{"id": run.pk, "planned_for": run.planned_for, "status": run.status, "audience": run.audience,
                 "queued": run.queued, "excluded": run.excluded, "progress": progress[run.pk],
                 "results": results[run.pk]} for run in runs]
        total = campaign_stats.results(Message.objects.filter(campaign_run__campaign=campaign),
                                       topic=campaign.purpose_key, open_tracking=tracking)
        body = {"campaign": campaign.pk, "status": campaign.status, "total": total, "runs": runs}
        if campaign.topic == "events":
            body["rsvps"] = dict(Rsvp.objects.filter(campaign=campaign).values_list("answer").annotate(n=Count("id")))
        return Response(body)


class CampaignAudiencePreviewView(APIView):
    @extend_schema(summary="The audience at once (counts capped at 10,000)", responses=OpenApiTypes.OBJECT)
    def get(self, request, campaign_id):
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        try:
            return Response(campaigns.audience_preview_now(campaign))
        except ServiceError as error:
            return _campaign_errors(error)

    @extend_schema(summary="Count the audience exactly, with the reasons for each exclusion (in the background)",
                   request=None, responses={202: OpenApiTypes.OBJECT})
    def post(self, request, campaign_id):
        from talentpools.api import OperationSerializer

        campaign = get_object_or_404(Campaign, pk=campaign_id)
        operation = campaigns.preview_start(campaign=campaign, actor=request.auth)
        return Response({"operation": OperationSerializer(operation).data}, status=status.HTTP_202_ACCEPTED)
