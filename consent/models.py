from django.conf import settings
from django.db import models
from django.utils import timezone

from crm.tenancy import TenantManager, TenantModel


class PurposeKey(models.TextChoices):
    TALENT_POOL = "talent_pool", "Keep my profile for future jobs"
    JOB_OFFERS = "job_offers", "Job offers matching my profile"
    EVENTS = "events", "Events and meet-ups"
    COMPANY_NEWS = "company_news", "Company news"
    TESTIMONIALS = "testimonials", "Employee testimonials"
    JOB_MARKET = "job_market", "Job-market information"


class Frequency(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


FREQUENCY_DAYS = {Frequency.WEEKLY: 7, Frequency.MONTHLY: 30, Frequency.QUARTERLY: 91}
DEFAULT_FREQUENCY = {PurposeKey.JOB_OFFERS: Frequency.MONTHLY, PurposeKey.EVENTS: Frequency.MONTHLY,
                     PurposeKey.COMPANY_NEWS: Frequency.QUARTERLY, PurposeKey.TESTIMONIALS: Frequency.QUARTERLY,
                     PurposeKey.JOB_MARKET: Frequency.QUARTERLY}


class ConsentPurpose(TenantModel):
    """Why the organization keeps or contacts someone: the talent pool itself, or one topic."""

    key = models.CharField(max_length=30, choices=PurposeKey.choices)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="consent_purpose_unique")]

    def __str__(self):
        return self.get_key_display()

    @property
    def is_topic(self):
        return self.key != PurposeKey.TALENT_POOL


class ConsentText(TenantModel):
    """The words a candidate agreed to, per purpose and language. A new version never rewrites an old one."""

    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.RESTRICT, related_name="texts")
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    version = models.PositiveIntegerField()
    text = models.TextField(max_length=5000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # Asking the talent pool to renew is written with the text, so a lost task cannot lose it (the beat retries).
    renewal_pending = models.BooleanField(default=False)
    renewal_claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["purpose", "language", "-version"]
        constraints = [models.UniqueConstraint(fields=["purpose", "language", "version"], name="consent_text_version")]

    def __str__(self):
        return f"{self.purpose} ({self.language}) v{self.version}"


class Action(models.TextChoices):
    REQUESTED = "requested", "Requested"
    CONFIRMED = "confirmed", "Confirmed"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"
    RENEWAL_REQUESTED = "renewal_requested", "Renewal requested"
    RENEWED = "renewed", "Renewed"
    FREQUENCY_CHANGED = "frequency_changed", "Frequency changed"


class Source(models.TextChoices):
    PUBLIC_FORM = "public_form", "Public form"
    REJECTION_LINK = "rejection_link", "Rejection-email link"
    PREFERENCE_CENTRE = "preference_centre", "Preference centre"
    UNSUBSCRIBE_LINK = "unsubscribe_link", "Unsubscribe link"
    PROVIDER_COMPLAINT = "provider_complaint", "Provider complaint"
    PROVIDER = "provider", "Unsubscribe reported by the email provider"
    RECRUITER = "recruiter", "Recruiter on the candidate's behalf"
    IMPORT = "import", "Import with evidence"
    RETENTION = "retention", "Retention job"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The consent ledger is append-only: rows are never updated.")

    def delete(self):
        raise PermissionError("The consent ledger is append-only: rows are deleted only with their candidate.")


class LedgerManager(TenantManager.from_queryset(AppendOnlyQuerySet)):
    pass


class ConsentRecord(TenantModel):
    """One step in a candidate's consent history (append-only): the proof GDPR Art. 7(1) asks for."""

    candidate = models.ForeignKey("crm.Candidate", on_delete=models.CASCADE, related_name="consent_records")
    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.RESTRICT, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    text = models.ForeignKey(ConsentText, null=True, blank=True, on_delete=models.RESTRICT, related_name="+")
    frequency = models.CharField(max_length=10, choices=Frequency.choices, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    acting_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = LedgerManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["organization", "candidate", "created_at"], name="consent_ledger")]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The consent ledger is append-only: rows are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The consent ledger is append-only.")


class ConsentEvidence(TenantModel):
    """Personal evidence of a ledger row (address, browser, the recruiter's note). Erasure deletes it."""

    record = models.OneToOneField(ConsentRecord, on_delete=models.CASCADE, related_name="evidence")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    note = models.TextField(blank=True, max_length=2000)


class State(models.TextChoices):
    PENDING = "pending", "Waiting for confirmation"
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"


class ConsentState(TenantModel):
    """The current state per candidate and purpose, written with each ledger row: every filter reads it."""

    candidate = models.ForeignKey("crm.Candidate", on_delete=models.CASCADE, related_name="consent_states")
    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.RESTRICT, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices)
    frequency = models.CharField(max_length=10, choices=Frequency.choices, blank=True)
    granted_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["candidate", "purpose"], name="consent_state_unique")]
        indexes = [
            models.Index(fields=["organization", "purpose", "state", "expires_at"], name="consent_state_filter"),
            # Smart pools: the candidates in a state for a topic, one per candidate, read without the table.
            models.Index(fields=["organization", "purpose", "state", "candidate"], include=["expires_at"],
                         name="consent_state_candidates"),
        ]


class PendingOptIn(TenantModel):
    """A join request waiting for the email confirmation; nothing counts, and no profile changes, before it."""

    email = models.EmailField(max_length=254)
    data = models.JSONField(default=dict)  # profile fields and chosen topics with their frequencies
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.PUBLIC_FORM)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "email"], name="pending_optin_email")]


class RetentionRun(TenantModel):
    """What one daily retention run did in an organization, shown on the consent dashboard."""

    started_at = models.DateTimeField(default=timezone.now)
    renewals_requested = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    erased = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
