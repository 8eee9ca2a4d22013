import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Lower
from django.utils import timezone
from timezone_field import TimeZoneField

from .tenancy import TenantModel


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in: recruiter, hiring manager or admin of one or more organizations."""

    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []
    objects = UserManager()

    def __str__(self):
        return self.get_full_name() or self.email

    @property
    def display_name(self):
        return self.get_full_name() or self.email


WEEKDAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"),
            (5, "Saturday"), (6, "Sunday")]

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 2 to 50 lowercase letters, digits and hyphens, starting and ending with a letter or digit.",
)
colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #3355aa.")


def default_working_days():
    return [0, 1, 2, 3, 4]


class OrganizationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(deletion_requested_at__isnull=True)


class Organization(models.Model):
    """A recruiting team: every tenant-owned row belongs to exactly one."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    time_zone = TimeZoneField(default="Europe/Paris")
    working_days = ArrayField(models.PositiveSmallIntegerField(choices=WEEKDAYS), default=default_working_days)
    default_language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    sender_name = models.CharField(max_length=120, blank=True)
    sender_email = models.EmailField(blank=True)
    sender_email_verified = models.BooleanField(default=False)
    reply_to_email = models.EmailField(blank=True)
    postal_address = models.TextField(blank=True, max_length=500)
    privacy_notice_url = models.URLField(blank=True)
    retention_months = models.PositiveSmallIntegerField(
        default=24, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    brand_colour = models.CharField(max_length=7, default="#4f46e5", validators=[colour_validator])
    open_tracking = models.BooleanField(
        default=False, help_text="Record email opens (mail clients open messages by themselves: opens are unreliable).")
    notice_limit_working_days = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="A rejection without a sent notice after this many working days is flagged.")
    message_retention_days = models.PositiveSmallIntegerField(
        default=90, validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Sent email bodies are kept this long; then only their metadata.")
    stale_after_working_days = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="Open applications without movement for this many working days show as waiting.",
    )
    marketing_cap_days = models.PositiveSmallIntegerField(
        "days between marketing emails", default=7, validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="A candidate gets at most one campaign email in this many days, whatever the campaigns.")
    campaign_rate_per_minute = models.PositiveIntegerField(
        "campaign emails per minute", default=600, validators=[MinValueValidator(1), MaxValueValidator(60_000)],
        help_text="All workers together send at most this many campaign emails a minute for this organization.")
    require_admin_mfa = models.BooleanField(
        default=False, help_text="Admins must turn on two-factor authentication to use this organization."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    deletion_requested_at = models.DateTimeField(null=True, blank=True)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    RECRUITER = "recruiter", "Recruiter"
    HIRING_MANAGER = "hiring_manager", "Hiring manager"


class Membership(TenantModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.RECRUITER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_org")]
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"

    @property
    def is_admin(self):
        return self.role == Role.ADMIN

    @property
    def can_recruit(self):
        """Admins and recruiters: everything but organization administration."""
        return self.role in (Role.ADMIN, Role.RECRUITER)


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(TenantModel):
    """An invitation to join an organization: the emailed link works once and expires."""

    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.RECRUITER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"), "organization",
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    @property
    def status(self):
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class ApiScope(models.TextChoices):
    READ = "read", "Read"
    READ_WRITE = "read_write", "Read and write"


class ApiKey(TenantModel):
    """A key for an ATS or a script: shown once, stored hashed, revocable."""

    PREFIX = "sp_"

    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=20, choices=ApiScope.choices, default=ApiScope.READ)
    key_prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name

    @classmethod
    def generate(cls):
        """Return (prefix, full secret key). The prefix finds the row; the hash checks the rest."""
        prefix = secrets.token_hex(4)
        return prefix, f"{cls.PREFIX}{prefix}_{secrets.token_urlsafe(32)}"

    @property
    def is_active(self):
        return self.revoked_at is None

    @property
    def can_write(self):
        return self.scope == ApiScope.READ_WRITE


class AuditEvent(models.Model):
    """Who did what sensitive thing, when. Rows without an organization are platform-level facts."""

    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    organization_name = models.CharField(max_length=120, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200, help_text="Who acted, kept even if the user or key goes.")
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label}: {self.action} {self.object_repr}"


# --- Candidates ------------------------------------------------------------------------

class Seniority(models.TextChoices):
    INTERN = "intern", "Intern"
    JUNIOR = "junior", "Junior"
    MID = "mid", "Mid-level"
    SENIOR = "senior", "Senior"
    LEAD = "lead", "Lead"
    PRINCIPAL = "principal", "Principal"
    DIRECTOR = "director", "Director"
    EXECUTIVE = "executive", "Executive"


class Source(models.TextChoices):
    APPLIED = "applied", "Applied"
    REFERRAL = "referral", "Referral"
    SOURCED = "sourced", "Sourced"
    EVENT = "event", "Event"
    IMPORTED = "imported", "Imported"
    PUBLIC_FORM = "public_form", "Public form"


class EmailStatus(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    VALID = "valid", "Valid"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained"


NOTES_MAX_LENGTH = 20_000
SKILL_MAX_LENGTH = 50
SKILLS_MAX_COUNT = 50


def candidate_search_text(first_name, last_name, email, headline, skills):
    """What the search box matches: kept in a column with a trigram index."""
    return " ".join([first_name, last_name, email, headline, *skills]).lower()


models.CharField.register_lookup(Lower)


class Candidate(TenantModel):
    """A person in the talent base: applicant, referral, sourced profile, or opt-in from the public form."""

    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(max_length=254)
    phone = models.CharField(max_length=40, blank=True)
    language = models.CharField("preferred language", max_length=8, choices=settings.LANGUAGES, blank=True)
    location = models.CharField(max_length=150, blank=True)
    headline = models.CharField("current title", max_length=200, blank=True)
    seniority = models.CharField(max_length=20, choices=Seniority.choices, blank=True)
    skills = ArrayField(models.CharField(max_length=SKILL_MAX_LENGTH), default=list, blank=True,
                        size=SKILLS_MAX_COUNT)
    linkedin_url = models.URLField("LinkedIn", max_length=300, blank=True)
    portfolio_url = models.URLField("portfolio", max_length=300, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.SOURCED)
    external_id = models.CharField("external id", max_length=100, blank=True,
                                   help_text="The candidate's id in your ATS.")
    do_not_contact = models.BooleanField(default=False)
    do_not_contact_reason = models.CharField(max_length=300, blank=True)
    do_not_contact_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(max_length=20, choices=EmailStatus.choices, default=EmailStatus.UNKNOWN)
    silver_medalist = models.BooleanField(default=False)
    silver_medalist_note = models.CharField(max_length=200, blank=True)
    last_activity_at = models.DateTimeField(default=timezone.now)
    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)
    # Denormalized tag ids, kept in step with the tagging table by the pools services.
    tag_ids = ArrayField(models.IntegerField(), default=list, blank=True)
    # Kept in step by database triggers (crm.mirrors) in the statement that changes an application or a
    # consent state (any writer: services, imports, COPY), so smart pools filter on the candidate row alone:
    # the furthest stage any application reached (its index in PIPELINE, -1 without applications),
    # the reasons of rejected applications, and "topic:state" per consent state.
    furthest_stage_rank = models.SmallIntegerField(default=-1, db_default=-1, editable=False)
    rejection_reason_ids = ArrayField(models.IntegerField(), default=list, db_default=Value([], output_field=ArrayField(
        models.IntegerField())), editable=False)
    consent_topics = ArrayField(models.CharField(max_length=40), default=list, db_default=Value(
        [], output_field=ArrayField(models.CharField(max_length=40))), editable=False)
    search_text = models.TextField(editable=False, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("organization", Lower("email"), name="candidate_email_unique_per_org"),
            models.UniqueConstraint(
                fields=["organization", "external_id"], condition=~models.Q(external_id=""),
                name="candidate_external_id_unique_per_org",
            ),
            models.CheckConstraint(condition=models.Q(last_activity_at__gte=F("created_at")),
                                   name="candidate_active_after_added"),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="candidate_org_created"),
            models.Index(fields=["organization", "last_activity_at", "id"], name="candidate_org_activity"),
            models.Index(fields=["organization", "last_name", "first_name", "id"], name="candidate_org_name"),
            models.Index(fields=["organization", "updated_at", "id"], name="candidate_org_updated"),
            # Filters with few distinct values: their capped count and first page read one index.
            models.Index(fields=["organization", "seniority", "-created_at", "-id"], name="candidate_org_seniority"),
            models.Index(fields=["organization", "source", "-created_at", "-id"], name="candidate_org_source"),
            models.Index(fields=["organization", "-created_at", "-id"], condition=models.Q(do_not_contact=True),
                         name="candidate_org_dnc"),
            models.Index(fields=["organization", "-created_at", "-id"], condition=models.Q(silver_medalist=True),
                         name="candidate_org_silver"),
            # btree_gin lets one GIN index carry the tenant with the trigrams / the tag ids.
            GinIndex(F("organization"), OpClass(F("search_text"), name="gin_trgm_ops"), name="candidate_search_trgm"),
            GinIndex(F("organization"), F("tag_ids"), name="candidate_org_tags"),
            # One GIN index over skills, consent topics and rejection reasons: a query on several of them
            # ("python" and "job_offers:granted") is one index scan that skips through the common values
            # with the rare ones, instead of a bitmap of each ANDed afterwards.
            GinIndex(F("organization"), F("skills"), F("consent_topics"), F("rejection_reason_ids"),
                     name="candidate_org_arrays"),
            models.Index(fields=["organization", "furthest_stage_rank"], name="candidate_org_furthest"),
            models.Index(F("organization"), OpClass(Lower("location"), name="text_pattern_ops"),
                         name="candidate_org_location"),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    def save(self, *args, **kwargs):
        self.email = self.email.strip()
        if self.last_activity_at < self.created_at:
            self.last_activity_at = self.created_at
        self.search_text = candidate_search_text(
            self.first_name, self.last_name, self.email, self.headline, self.skills
        )
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_text", "updated_at"}
        elif not self._state.adding and not kwargs.get("force_insert"):
            # A saved row's denormalized columns belong to their writers: never written back stale.
            kwargs["update_fields"] = [field.name for field in self._meta.concrete_fields
                                       if not field.primary_key and field.name not in KEPT_BY_THEIR_WRITERS]
        super().save(*args, **kwargs)


# Candidate columns written only where the rows they mirror change (tags, applications, consent).
KEPT_BY_THEIR_WRITERS = {"tag_ids", "furthest_stage_rank", "rejection_reason_ids", "consent_topics"}


class ActivityKind(models.TextChoices):
    CREATED = "created", "Added"
    UPDATED = "updated", "Profile updated"
    NOTE = "note", "Note"
    CALL = "call", "Call"
    INTERVIEW = "interview", "Interview"
    EMAIL = "email", "Email"
    APPLIED = "applied", "Applied"
    STAGE_CHANGE = "stage_change", "Stage change"
    CONSENT = "consent", "Consent"
    CLICK = "click", "Clicked a link"
    REPLY = "reply", "Replied"
    DO_NOT_CONTACT = "do_not_contact", "Do not contact"
    EXPORT = "export", "Data export"
    RSVP = "rsvp", "Answered an invitation"


# What the candidate did or a recruiter's real contact: these move `last_activity_at`.
ACTIVITY_KINDS_THAT_COUNT = {
    ActivityKind.APPLIED, ActivityKind.REPLY, ActivityKind.CLICK, ActivityKind.CONSENT,
    ActivityKind.CALL, ActivityKind.INTERVIEW, ActivityKind.RSVP,
}


class Activity(TenantModel):
    """One line of a candidate's timeline."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=20, choices=ActivityKind.choices)
    summary = models.CharField(max_length=300)
    body = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)
    details = models.JSONField(default=dict, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["organization", "candidate", "-id"], name="activity_timeline")]
        verbose_name_plural = "activities"

    def __str__(self):
        return f"{self.get_kind_display()}: {self.summary}"


class Suppression(TenantModel):
    """An email that must never come back in: a keyed hash of it, never the address itself.

    A hash cannot be turned back into its address, so a row stays under the key that made it: `key_id` names
    that key (a fingerprint that reveals nothing of it; blank for rows older than the field). Lookups try
    SUPPRESSION_HASH_KEY and every SUPPRESSION_HASH_KEY_FALLBACKS key; a row moves to the current key only when
    its address is in hand again (an erasure, an import, `rehash_suppressions --addresses`).
    """

    email_hash = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16, blank=True, default="")
    reason = models.CharField(max_length=100, default="erased")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "email_hash"], name="suppression_unique")]

    @staticmethod
    def key_id_of(key):
        """A short public name of a hash key: the same key always gives it, and it cannot be turned into the key."""
        import hmac

        return hmac.new(key.encode(), b"silverpool suppression key id", hashlib.sha256).hexdigest()[:16]

    @staticmethod
    def hash_email(email, key=None):
        """The hash of `email` under `key` (the current SUPPRESSION_HASH_KEY by default)."""
        import hmac

        normalized = email.strip().lower()
        return hmac.new((key or settings.SUPPRESSION_HASH_KEY).encode(), normalized.encode(),
                        hashlib.sha256).hexdigest()

    @staticmethod
    def keys():
        """The current key first, then the fallbacks still honoured."""
        return list(dict.fromkeys([settings.SUPPRESSION_HASH_KEY, *settings.SUPPRESSION_HASH_KEY_FALLBACKS]))

    @classmethod
    def hashes(cls, email):
        """Every hash `email` may be stored under: the current key's first."""
        return [cls.hash_email(email, key) for key in cls.keys()]


# --- Jobs, applications and feedback ------------------------------------------------------

class JobStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    ON_HOLD = "on_hold", "On hold"
    CLOSED = "closed", "Closed"


class Job(TenantModel):
    title = models.CharField(max_length=200)
    department = models.CharField(max_length=120, blank=True)
    location = models.CharField(max_length=150, blank=True)
    remote = models.BooleanField(default=False)
    seniority = models.CharField(max_length=20, choices=Seniority.choices, blank=True)
    required_skills = ArrayField(models.CharField(max_length=SKILL_MAX_LENGTH), default=list, blank=True,
                                 size=SKILLS_MAX_COUNT)
    description = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.DRAFT)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField("external id", max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "external_id"], condition=~models.Q(external_id=""),
                                    name="job_external_id_unique_per_org"),
        ]
        indexes = [models.Index(fields=["organization", "status", "-created_at"], name="job_org_status")]

    def __str__(self):
        return self.title


class JobAssignment(TenantModel):
    """Who works on a job: its hiring managers see it and its applications; recruiters own it."""

    class Kind(models.TextChoices):
        HIRING_MANAGER = "hiring_manager", "Hiring manager"
        RECRUITER = "recruiter", "Recruiter"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "user", "kind"], name="job_assignment_unique")]


class Stage(models.TextChoices):
    APPLIED = "applied", "Applied"
    SCREENING = "screening", "Screening"
    INTERVIEW = "interview", "Interview"
    FINAL = "final", "Final interview"
    OFFER = "offer", "Offer"
    HIRED = "hired", "Hired"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    OFFER_DECLINED = "offer_declined", "Offer declined"


PIPELINE = [Stage.APPLIED, Stage.SCREENING, Stage.INTERVIEW, Stage.FINAL, Stage.OFFER, Stage.HIRED]
PIPELINE_CHOICES = [(stage.value, stage.label) for stage in PIPELINE]
OPEN_STAGES = [Stage.APPLIED, Stage.SCREENING, Stage.INTERVIEW, Stage.FINAL, Stage.OFFER]
CLOSED_STAGES = [Stage.REJECTED, Stage.WITHDRAWN, Stage.OFFER_DECLINED]
INTERVIEWED_STAGES = [Stage.INTERVIEW, Stage.FINAL, Stage.OFFER, Stage.HIRED]
SILVER_MEDAL_STAGES = [Stage.FINAL, Stage.OFFER]


def stage_rank(stage):
    return PIPELINE.index(stage) if stage in PIPELINE else -1


class RejectionReason(TenantModel):
    """A reason from the organization's own list, with the words a candidate will read."""

    label = models.CharField(max_length=100)
    candidate_text = models.CharField("in the candidate's words", max_length=300, blank=True)
    # {language: the candidate's words in that language}; `candidate_text` is in the organization's language.
    candidate_texts = models.JSONField("in the candidate's words, per language", default=dict, blank=True)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "label"]
        constraints = [models.UniqueConstraint("organization", Lower("label"), name="rejection_reason_unique")]

    def __str__(self):
        return self.label

    def text_for(self, language, *, default_language):
        """The reason in the words of an email written in `language`: its own wording there, else the main
        wording when that is the organization's language, else nothing (better no reason than one in
        another language)."""
        texts = self.candidate_texts if isinstance(self.candidate_texts, dict) else {}
        text = texts.get(language)
        if isinstance(text, str) and text.strip():
            return text
        return self.candidate_text if language == default_language else ""


class OfferDeclinedReason(models.TextChoices):
    SALARY = "salary", "Salary"
    OTHER_OFFER = "other_offer", "Accepted another offer"
    LOCATION = "location", "Location"
    ROLE_FIT = "role_fit", "Role fit"
    COUNTER_OFFER = "counter_offer", "Counter-offer from current employer"
    PERSONAL = "personal", "Personal reasons"
    OTHER = "other", "Other"


class NoticePlan(models.TextChoices):
    NOW = "now", "Send now"
    MORNING = "morning", "Next working morning"
    NONE = "none", "Do not send"


class Application(TenantModel):
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="applications")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="applications")
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.APPLIED)
    furthest_stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.APPLIED)
    stage_before_close = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_by_api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL,
                                           related_name="+")
    decider_label = models.CharField(max_length=200, blank=True)
    rejection_reason = models.ForeignKey(RejectionReason, null=True, blank=True, on_delete=models.RESTRICT,
                                         related_name="+")
    rejection_note = models.TextField(blank=True, max_length=2000)
    offer_declined_reason = models.CharField(max_length=20, choices=OfferDeclinedReason.choices, blank=True)
    offer_declined_note = models.TextField(blank=True, max_length=2000)
    external_id = models.CharField("external id", max_length=100, blank=True)
    # How the candidate hears of a rejection: chosen with it, carried out by the email engine.
    notice_plan = models.CharField(max_length=10, choices=NoticePlan.choices, blank=True)
    notice_skip_reason = models.CharField(max_length=300, blank=True)
    # A template chosen for the notice (an id of the email engine's templates; empty: the default).
    notice_template_id = models.PositiveIntegerField(null=True, blank=True)
    applied_at = models.DateTimeField(default=timezone.now)
    moved_at = models.DateTimeField(default=timezone.now)
    # Bumped on every move: a form carrying an older version is stale.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-applied_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["candidate", "job"], condition=models.Q(stage__in=OPEN_STAGES + ["hired"]),
                                    name="one_open_application_per_job"),
            models.UniqueConstraint(fields=["organization", "external_id"], condition=~models.Q(external_id=""),
                                    name="application_external_id_unique_per_org"),
        ]
        indexes = [
            models.Index(fields=["organization", "job", "stage"], name="application_job_stage"),
            models.Index(fields=["organization", "stage", "moved_at"], name="application_stage_moved"),
            models.Index(fields=["organization", "candidate"], name="application_candidate"),
            # Smart pools: who reached a stage / was rejected for a reason, read without the table.
            models.Index(fields=["organization", "furthest_stage", "candidate"], name="application_furthest"),
            models.Index(fields=["organization", "rejection_reason", "candidate"],
                         condition=models.Q(stage="rejected"), name="application_rejected_reason"),
        ]

    def __str__(self):
        return f"{self.candidate} → {self.job}"

    @property
    def is_open(self):
        return self.stage in OPEN_STAGES

    @property
    def is_closed(self):
        return self.stage in CLOSED_STAGES


class StageChange(TenantModel):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]


class FeedbackNote(TenantModel):
    """A hiring manager's feedback; a shareable one may reach the candidate after a recruiter's review."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="feedback_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    author_label = models.CharField(max_length=200, blank=True)
    strengths = models.TextField(blank=True, max_length=5000)
    improvements = models.TextField("areas to improve", blank=True, max_length=5000)
    note = models.TextField(blank=True, max_length=5000)
    shareable = models.BooleanField(default=False, help_text="Shareable notes may be sent to the candidate.")
    # The recruiter's wording for the candidate; the original above is kept untouched.
    edited_strengths = models.TextField(blank=True, max_length=5000)
    edited_improvements = models.TextField(blank=True, max_length=5000)
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    edited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    @property
    def candidate_strengths(self):
        return self.edited_strengths if self.edited_at else self.strengths

    @property
    def candidate_improvements(self):
        return self.edited_improvements if self.edited_at else self.improvements


# --- Long operations ------------------------------------------------------------------------

class OperationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Operation(TenantModel):
    """A long job run by a worker (bulk tagging, rules over the base, imports), with its progress."""

    kind = models.CharField(max_length=40)
    label = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=OperationStatus.choices, default=OperationStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    # What the job needs to run (ids, filters) and what it reports when it ends.
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_by_api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by_label = models.CharField(max_length=200, blank=True)
    # Where the person goes back to when it ends (a page of the organization).
    return_url = models.CharField(max_length=500, blank=True)
    # The Celery task that runs it: a run whose nudge was lost with the broker is queued again by name.
    task_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    # Moved by every progress report: a run silent for long was left by a dead worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.label

    @property
    def percent(self):
        if self.status == OperationStatus.DONE:
            return 100
        return min(99, int(self.done * 100 / self.total)) if self.total else 0

    @property
    def finished(self):
        return self.status in (OperationStatus.DONE, OperationStatus.FAILED)


# --- Account emails -------------------------------------------------------------------------

class AccountEmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # A worker stopped while sending it: it may or may not have been delivered, so it is never sent again.
    NEEDS_REVIEW = "needs_review", "Needs review"


class AccountEmail(TenantModel):
    """An email to a (future) member, written with the action that causes it and sent by a worker.

    The body may carry a one-time link: it is blanked once the email is sent or given up.
    """

    invitation = models.ForeignKey(Invitation, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="emails")
    to_email = models.EmailField()
    subject = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=AccountEmailStatus.choices, default=AccountEmailStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    send_after = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["send_after"], condition=models.Q(status="queued"), name="account_email_due"),
        ]

    def __str__(self):
        return f"{self.subject} → {self.to_email}"
