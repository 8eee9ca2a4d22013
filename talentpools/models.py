from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from crm.models import colour_validator
from crm.tenancy import TenantModel


class TagCategory(models.TextChoices):
    SKILL = "skill", "Skill"
    SENIORITY = "seniority", "Seniority"
    INTEREST = "interest", "Interest"
    POSITION = "position", "Position type"
    LOCATION = "location", "Location"
    STATUS = "status", "Status"
    CUSTOM = "custom", "Custom"


class Tag(TenantModel):
    name = models.CharField(max_length=60)
    category = models.CharField(max_length=20, choices=TagCategory.choices, default=TagCategory.CUSTOM)
    colour = models.CharField(max_length=7, default="#64748b", validators=[colour_validator])
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["category", "name"]
        constraints = [models.UniqueConstraint("organization", Lower("name"), name="tag_name_unique_per_org")]

    def __str__(self):
        return self.name


class CandidateTag(TenantModel):
    """Who tagged whom, and when. `Candidate.tag_ids` mirrors these rows for fast filtering."""

    candidate = models.ForeignKey("crm.Candidate", on_delete=models.CASCADE, related_name="candidate_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="candidate_tags")
    tagged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    tagged_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["candidate", "tag"], name="candidate_tag_unique")]
