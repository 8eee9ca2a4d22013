from rest_framework import serializers

from .models import SKILL_MAX_LENGTH, SKILLS_MAX_COUNT, ApiKey, Candidate, Organization


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
