from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import EmailTemplate, Message, MessageEvent, MessageStatus, TemplateKind


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
