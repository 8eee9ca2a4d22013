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


class RuleCondition(models.TextChoices):
    KEYWORD = "keyword", "Keyword in the title or skills"
    SILVER_MEDALIST = "silver_medalist", "Is a silver medalist"
    SOURCE = "source", "Came from a source"
    REJECTION_REASON = "rejection_reason", "Was rejected for a reason"


class TaggingRule(TenantModel):
    """When a candidate is added or changed, rejected or declines an offer, matching rules add their tag."""

    name = models.CharField(max_length=100)
    condition = models.CharField(max_length=20, choices=RuleCondition.choices)
    # The keyword, the source value, or the rejection reason's id, as the condition needs.
    value = models.CharField(max_length=100, blank=True)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="rules")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class PoolKind(models.TextChoices):
    STATIC = "static", "Hand-picked"
    SMART = "smart", "Smart (saved filters)"


class TalentPool(TenantModel):
    """A group of candidates: hand-picked members, or a saved filter evaluated whenever it is read."""

    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    kind = models.CharField(max_length=10, choices=PoolKind.choices)
    # For smart pools: the filters (see talentpools.segments for the keys).
    definition = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint("organization", Lower("name"), name="pool_name_unique_per_org")]

    def __str__(self):
        return self.name

    @property
    def is_smart(self):
        return self.kind == PoolKind.SMART


class PoolMember(TenantModel):
    """A hand-picked member of a static pool: who added them, and when."""

    pool = models.ForeignKey(TalentPool, on_delete=models.CASCADE, related_name="members")
    candidate = models.ForeignKey("crm.Candidate", on_delete=models.CASCADE, related_name="pool_memberships")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    added_by_label = models.CharField(max_length=200, blank=True)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pool", "candidate"], name="pool_member_unique")]
        indexes = [models.Index(fields=["organization", "candidate"], name="pool_member_candidate")]


class JobTag(TenantModel):
    """A tag that describes what a job needs; matching ranks candidates who carry it higher."""

    job = models.ForeignKey("crm.Job", on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "tag"], name="job_tag_unique")]
