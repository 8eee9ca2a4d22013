from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from crm.tenancy import TenantModel


class TemplateKind(models.TextChoices):
    REJECTION_EARLY = "rejection_early", "Rejection before interview"
    REJECTION_AFTER_INTERVIEW = "rejection_after_interview", "Rejection after interview"
    OFFER_DECLINED = "offer_declined", "Offer declined"
    CONSENT_CONFIRMATION = "consent_confirmation", "Consent confirmation"
    CONSENT_RENEWAL = "consent_renewal", "Consent renewal"
    DATA_EXPORT_READY = "data_export_ready", "Data export ready"
    RE_ENGAGEMENT = "re_engagement", "Re-engagement"
    JOB_OFFERS_DIGEST = "job_offers_digest", "Job offers digest"
    EVENT_INVITATION = "event_invitation", "Event invitation"
    COMPANY_NEWS = "company_news", "Company news"
    GENERIC = "generic", "Generic"


TRANSACTIONAL_KINDS = {
    TemplateKind.REJECTION_EARLY, TemplateKind.REJECTION_AFTER_INTERVIEW, TemplateKind.OFFER_DECLINED,
    TemplateKind.CONSENT_CONFIRMATION, TemplateKind.CONSENT_RENEWAL, TemplateKind.DATA_EXPORT_READY,
    TemplateKind.GENERIC,  # a recruiter's own message to one person about their application
}


class Purpose(models.TextChoices):
    TRANSACTIONAL = "transactional", "Transactional"
    MARKETING = "marketing", "Marketing"


def purpose_of(kind):
    return Purpose.TRANSACTIONAL if kind in TRANSACTIONAL_KINDS else Purpose.MARKETING


class EmailTemplate(TenantModel):
    """A recruiter-written email in the restricted template language (see outreach.rendering)."""

    kind = models.CharField(max_length=40, choices=TemplateKind.choices)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    name = models.CharField(max_length=120)
    subject = models.CharField(max_length=300)
    html_body = models.TextField(max_length=100_000)
    text_body = models.TextField(blank=True, max_length=100_000,
                                 help_text="Left empty, it is made from the HTML.")
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "language", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "language", "name"], name="template_unique_name"),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_language_display()})"

    @property
    def purpose(self):
        return purpose_of(self.kind)


class MessageStatus(models.TextChoices):
    REVIEW = "review", "Waiting for review"
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    OPENED = "opened", "Opened"
    CLICKED = "clicked", "Clicked"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    SUPPRESSED = "suppressed", "Not sent"
    NEEDS_REVIEW = "needs_review", "Needs review"
    HELD = "held", "Held (campaign paused)"


# Statuses a provider event may move a sent message to, in the order they can happen.
DELIVERY_PROGRESS = [MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.OPENED, MessageStatus.CLICKED]
FINAL_FAILURES = [MessageStatus.BOUNCED, MessageStatus.COMPLAINED]
NOT_YET_SENT = [MessageStatus.REVIEW, MessageStatus.QUEUED, MessageStatus.SENDING]


class Message(TenantModel):
    """One email in the outbox. Bodies are rendered when it is sent, and kept for a while."""

    unique_key = models.CharField(max_length=200, help_text="purpose:candidate:application or campaign run")
    candidate = models.ForeignKey("crm.Candidate", null=True, on_delete=models.SET_NULL, related_name="messages")
    application = models.ForeignKey("crm.Application", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="messages")
    kind = models.CharField(max_length=40, choices=TemplateKind.choices)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    template = models.ForeignKey(EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    template_version = models.PositiveIntegerField(null=True, blank=True)
    language = models.CharField(max_length=8, default="en")
    to_email = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300, blank=True)
    html = models.TextField(blank=True)
    text = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    # What the template needs beyond the candidate (reviewed feedback wording, stage, ...).
    context = models.JSONField(default=dict, blank=True)
    send_after = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    status_reason = models.CharField(max_length=300, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    # The random part of the per-message reply address (outreach.inbound); set when it is first sent.
    reply_token = models.CharField(max_length=32, blank=True, default="", db_default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    provider_call_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    # Campaign emails: the run that queued them, and the consent purpose they need (frequency is per topic).
    campaign_run = models.ForeignKey("CampaignRun", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="messages")
    topic = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "unique_key"], name="message_unique_key"),
            models.UniqueConstraint(fields=["reply_token"], condition=~models.Q(reply_token=""),
                                    name="message_reply_token"),
        ]
        indexes = [
            models.Index(fields=["send_after"], condition=models.Q(status="queued"), name="message_due"),
            models.Index(fields=["claimed_at"], condition=models.Q(status="sending"), name="message_sending"),
            # Only sent messages carry the provider's id: the rows queued by a campaign run skip this index.
            models.Index(fields=["provider_message_id"], condition=~models.Q(provider_message_id=""),
                         name="message_provider_id"),
            models.Index(fields=["organization", "candidate", "-created_at"], name="message_candidate"),
            models.Index(fields=["organization", "status", "-created_at"], name="message_org_status"),
            models.Index(fields=["campaign_run", "status"], condition=models.Q(campaign_run__isnull=False),
                         name="message_run_status"),
            # The frequency and cap checks: a candidate's recent marketing sends (not the queued ones).
            models.Index(fields=["candidate", "sent_at"], condition=models.Q(purpose="marketing", sent_at__isnull=False),
                         name="message_marketing_sent"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.to_email}"


class MessageEvent(TenantModel):
    """What the provider told us about a message (delivered, bounced, clicked...)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    event_type = models.CharField(max_length=30)
    event_id = models.CharField(max_length=200)
    occurred_at = models.DateTimeField()
    description = models.CharField(max_length=500, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "event_id"], name="message_event_unique")]



class WebhookEvent(models.Model):
    """A provider's tracking event as the webhook took it, waiting for a worker to apply it (outreach.receivers).

    Not a tenant row: which organization an event concerns is known only once its message is found. A post's
    events are written here in one statement, and a replay of an event already here is dropped by the unique
    key. Once applied, the row keeps only its key (its fields are emptied) until it is purged, so that a
    provider's late retry still changes nothing.
    """

    provider = models.CharField(max_length=40)  # anymail's esp_name
    event_key = models.CharField(max_length=300)  # the provider's event id, else what makes a replay the same
    fields = models.JSONField(default=dict)  # the normalized event (receivers.taken), {} once applied
    received_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # failed applications (each logged)
    error = models.TextField(blank=True)  # the last failure, for an operator

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "event_key"], name="webhook_event_unique")]
        indexes = [models.Index(fields=["id"], name="webhook_event_pending",
                                condition=models.Q(applied_at__isnull=True))]

    def __str__(self):
        return f"{self.provider} {self.event_key}"


class Reply(TenantModel):
    """An email a candidate sent back to one of our messages (found by its reply address; see outreach.inbound)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="replies")
    candidate = models.ForeignKey("crm.Candidate", on_delete=models.CASCADE, related_name="replies")
    received_at = models.DateTimeField()
    from_email = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    # An out-of-office or other automatic answer: shown, never counted as a reply nor forwarded.
    auto_reply = models.BooleanField(default=False)
    # The person asked not to be written to again: listed for a recruiter, never acted on by itself.
    stop_request = models.BooleanField(default=False)
    stop_reviewed_at = models.DateTimeField(null=True, blank=True)
    stop_reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+")
    provider = models.CharField(max_length=40)
    provider_message_id = models.CharField(max_length=200, blank=True)
    message_id_header = models.CharField(max_length=300, blank=True)
    # What makes a replayed inbound post the same reply: its Message-ID, else the provider's id for it.
    dedupe_key = models.CharField(max_length=300)
    forward_email = models.ForeignKey("crm.AccountEmail", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "replies"
        constraints = [models.UniqueConstraint(fields=["organization", "dedupe_key"], name="reply_once")]
        indexes = [
            models.Index(fields=["message"], name="reply_message"),
            models.Index(fields=["organization", "-received_at"], condition=models.Q(
                stop_request=True, stop_reviewed_at__isnull=True), name="reply_stop_to_review"),
        ]

    def __str__(self):
        return f"Reply to {self.message_id} ({self.received_at:%Y-%m-%d %H:%M})"


# --- Campaigns ---------------------------------------------------------------------------------

class CampaignTopic(models.TextChoices):
    JOB_OFFERS = "job_offers", "Job offers"
    EVENTS = "events", "Event invitation"
    COMPANY_NEWS = "company_news", "Company news"
    TESTIMONIALS = "testimonials", "Employee testimonials"
    JOB_MARKET = "job_market", "Job-market information"
    RE_ENGAGEMENT = "re_engagement", "Re-engagement check-in"


# The consent purpose a topic needs, and the template kinds that fit it.
TOPIC_PURPOSE = {
    CampaignTopic.JOB_OFFERS: "job_offers", CampaignTopic.EVENTS: "events",
    CampaignTopic.COMPANY_NEWS: "company_news", CampaignTopic.TESTIMONIALS: "testimonials",
    CampaignTopic.JOB_MARKET: "job_market", CampaignTopic.RE_ENGAGEMENT: "talent_pool",
}
TOPIC_TEMPLATE_KINDS = {
    CampaignTopic.JOB_OFFERS: [TemplateKind.JOB_OFFERS_DIGEST],
    CampaignTopic.EVENTS: [TemplateKind.EVENT_INVITATION],
    CampaignTopic.COMPANY_NEWS: [TemplateKind.COMPANY_NEWS],
    CampaignTopic.TESTIMONIALS: [TemplateKind.COMPANY_NEWS],
    CampaignTopic.JOB_MARKET: [TemplateKind.COMPANY_NEWS],
    CampaignTopic.RE_ENGAGEMENT: [TemplateKind.RE_ENGAGEMENT],
}


class Schedule(models.TextChoices):
    NOW = "now", "As soon as it is launched"
    ONCE = "once", "Once, at a date and time"
    WEEKLY = "weekly", "Every week"
    MONTHLY = "monthly", "Every month"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    PAUSED = "paused", "Paused"
    FINISHED = "finished", "Finished"
    CANCELLED = "cancelled", "Cancelled"


class Campaign(TenantModel):
    """A marketing email to pools of candidates, once or on a recurring schedule."""

    name = models.CharField(max_length=120)
    topic = models.CharField(max_length=20, choices=CampaignTopic.choices)
    # Pools the audience comes from (a union), narrowed by extra filters (a smart pool's definition).
    pool_ids = ArrayField(models.IntegerField(), default=list, blank=True)
    filters = models.JSONField(default=dict, blank=True)
    template = models.ForeignKey(EmailTemplate, on_delete=models.PROTECT, related_name="+")
    # {language: template id}: recipients in another language get the main template.
    language_templates = models.JSONField(default=dict, blank=True)
    schedule = models.CharField(max_length=10, choices=Schedule.choices, default=Schedule.NOW)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    weekday = models.PositiveSmallIntegerField(null=True, blank=True)
    day_of_month = models.PositiveSmallIntegerField(null=True, blank=True)
    send_time = models.TimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    max_jobs = models.PositiveSmallIntegerField(default=5)
    event_name = models.CharField(max_length=200, blank=True)
    event_starts_at = models.DateTimeField(null=True, blank=True)
    event_place = models.CharField(max_length=300, blank=True)
    referral = models.BooleanField(default=False, help_text="Add a link recipients can pass on to a friend.")
    sender_name = models.CharField(max_length=120, blank=True,
                                   help_text="The name recipients see; empty: the organization's sender name.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    launched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["next_run_at"], condition=models.Q(status="scheduled"),
                                name="campaign_due")]

    def __str__(self):
        return self.name

    @property
    def purpose_key(self):
        return TOPIC_PURPOSE[self.topic]

    @property
    def recurring(self):
        return self.schedule in (Schedule.WEEKLY, Schedule.MONTHLY)


class RunStatus(models.TextChoices):
    PREPARING = "preparing", "Preparing the recipients"
    SENDING = "sending", "Sending"
    PAUSED = "paused", "Paused"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class CampaignRun(TenantModel):
    """One send of a campaign: its recipients are rows of the outbox (rendered when sent)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="runs")
    planned_for = models.DateTimeField()
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PREPARING)
    audience = models.PositiveIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)
    # {reason: count} of who the audience lost before anything was queued.
    excluded = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    prepared_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-planned_for", "-id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "planned_for"], name="campaign_run_once")]

    def __str__(self):
        return f"{self.campaign} ({self.planned_for:%Y-%m-%d %H:%M})"


class RsvpAnswer(models.TextChoices):
    YES = "yes", "Coming"
    NO = "no", "Not coming"


class Rsvp(TenantModel):
    """A candidate's answer to an event invitation."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="rsvps")
    candidate = models.ForeignKey("crm.Candidate", on_delete=models.CASCADE, related_name="rsvps")
    answer = models.CharField(max_length=3, choices=RsvpAnswer.choices)
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "candidate"], name="rsvp_once")]
