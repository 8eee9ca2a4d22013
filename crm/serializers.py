from rest_framework import serializers

from .models import (
    PIPELINE_CHOICES,
    SKILL_MAX_LENGTH,
    SKILLS_MAX_COUNT,
    ApiKey,
    Application,
    Candidate,
    FeedbackNote,
    Job,
    OfferDeclinedReason,
    Organization,
)


class OrganizationSummarySerializer(serializers.ModelSerializer):
    time_zone = serializers.CharField()

    class Meta:
        model = Organization
        fields = ["slug", "name", "time_zone", "default_language"]


class ApiKeySummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["name", "scope", "created_at", "last_used_at"]


class WhoAmISerializer(serializers.Serializer):
    organization = OrganizationSummarySerializer()
    api_key = ApiKeySummarySerializer()


class CandidateSerializer(serializers.ModelSerializer):
    skills = serializers.ListField(
        child=serializers.CharField(max_length=SKILL_MAX_LENGTH, trim_whitespace=True),
        max_length=SKILLS_MAX_COUNT, required=False,
    )
    do_not_contact = serializers.BooleanField(required=False)
    do_not_contact_reason = serializers.CharField(max_length=300, required=False, allow_blank=True)

    class Meta:
        model = Candidate
        fields = [
            "id", "first_name", "last_name", "email", "phone", "language", "location", "headline", "seniority",
            "skills", "linkedin_url", "portfolio_url", "source", "external_id", "notes", "do_not_contact",
            "do_not_contact_reason", "do_not_contact_at", "email_status", "silver_medalist", "last_activity_at",
            "created_at", "updated_at",
        ]
        read_only_fields = ["id", "do_not_contact_at", "email_status", "silver_medalist", "last_activity_at",
                            "created_at", "updated_at"]
        validators = []  # uniqueness is the service's: it answers with the field and the existing id

    def validate(self, attrs):
        if attrs.get("do_not_contact") and not attrs.get("do_not_contact_reason", "").strip():
            raise serializers.ValidationError({"do_not_contact_reason": ["Required when do_not_contact is true."]})
        return attrs


class CandidateListSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Matching candidates, counted up to 10,000.")
    count_is_capped = serializers.BooleanField(help_text="True when more than 10,000 match.")
    next = serializers.CharField(allow_null=True, help_text="URL of the next page, or null.")
    results = CandidateSerializer(many=True)


class JobSerializer(serializers.ModelSerializer):
    required_skills = serializers.ListField(child=serializers.CharField(max_length=SKILL_MAX_LENGTH),
                                            max_length=SKILLS_MAX_COUNT, required=False)
    hiring_managers = serializers.ListField(child=serializers.EmailField(), required=False, write_only=True,
                                            help_text="Emails of members who are hiring managers on this job.")

    class Meta:
        model = Job
        fields = ["id", "title", "department", "location", "remote", "seniority", "required_skills",
                  "description", "status", "opened_at", "closed_at", "external_id", "created_at", "updated_at",
                  "hiring_managers"]
        read_only_fields = ["id", "opened_at", "closed_at", "created_at", "updated_at"]
        validators = []


class ApplicationSerializer(serializers.ModelSerializer):
    candidate = serializers.IntegerField(source="candidate_id")
    job = serializers.IntegerField(source="job_id")
    rejection_reason = serializers.CharField(source="rejection_reason.label", read_only=True, default=None,
                                             allow_null=True, help_text="The reason's label; null unless rejected.")
    offer_declined_reason = serializers.ChoiceField(choices=OfferDeclinedReason.choices, read_only=True,
                                                    allow_blank=True, help_text="Empty unless the offer was declined.")
    decided_by = serializers.CharField(source="decider_label", read_only=True)

    class Meta:
        model = Application
        fields = ["id", "candidate", "job", "stage", "furthest_stage", "applied_at", "moved_at", "decided_at",
                  "decided_by", "rejection_reason", "rejection_note", "offer_declined_reason",
                  "offer_declined_note", "external_id", "version"]
        read_only_fields = ["id", "furthest_stage", "moved_at", "decided_at", "decided_by", "rejection_reason",
                            "rejection_note", "offer_declined_reason", "offer_declined_note", "version"]
        validators = []


class AdvanceSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=PIPELINE_CHOICES)
    version = serializers.IntegerField(required=False, help_text="Refuse the move if the application changed since.")


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=100, help_text="A rejection reason's id or label.")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    version = serializers.IntegerField(required=False)
    send_email = serializers.ChoiceField(
        choices=[("scheduled", "the next working morning"), ("now", "now"), ("none", "no email")],
        default="scheduled", help_text="When the rejection email goes (after an interview it waits for review).")
    skip_reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="",
                                        help_text="Required with send_email=none.")
    template = serializers.IntegerField(required=False, allow_null=True, default=None,
                                        help_text="An email template's id (GET /api/v1/templates/); default: "
                                                  "the organization's template for the stage reached.")

    def validate(self, attrs):
        if attrs["send_email"] == "none" and not attrs["skip_reason"].strip():
            raise serializers.ValidationError({"skip_reason": ["Say why the candidate gets no email."]})
        return attrs


class DeclineOfferSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=OfferDeclinedReason.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    version = serializers.IntegerField(required=False)


class RejectionReasonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    candidate_text = serializers.CharField(help_text="How the rejection email words this reason.")


class FeedbackNoteSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author_label", read_only=True)

    class Meta:
        model = FeedbackNote
        fields = ["id", "author", "strengths", "improvements", "note", "shareable", "created_at"]
        read_only_fields = ["id", "author", "created_at"]
