from rest_framework import serializers

from .models import ApiKey, Organization


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
