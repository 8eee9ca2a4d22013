"""Campaigns: who they reach, when they run, and how a run becomes rows of the outbox.

A campaign's audience is the union of its pools, narrowed by extra filters. The marketing rule
(DESIGN: who may be emailed) decides at preview, when a run writes its recipients to the outbox
(one INSERT ... SELECT, no rendered bodies) and again just before each send. Runs come from one
periodic task: a run is unique per (campaign, planned time), so a double launch, two beat
ticks or a task delivered twice make one run; a run missed while the workers were down runs
once when they are back.
"""

import calendar
import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from consent.models import FREQUENCY_DAYS, ConsentPurpose, ConsentState, State
from crm.audit import actor_label, audit
from crm.models import Candidate, User
from crm.services import ServiceError
from crm.tasks import nudge_on_commit

from .models import (
    TOPIC_PURPOSE,
    TOPIC_TEMPLATE_KINDS,
    Campaign,
    CampaignRun,
    CampaignStatus,
    CampaignTopic,
    EmailTemplate,
    Message,
    MessageStatus,
    RunStatus,
    Schedule,
)
from .selectors import UNDELIVERABLE, marketing_audience

logger = logging.getLogger(__name__)
# The reasons a member of the audience gets no email, in the order they are checked.
EXCLUSIONS = {
    "do_not_contact": "Do not contact",
    "undeliverable": "Address bounced or complained",
    "no_consent": "No consent for this topic",
    "consent_expired": "Consent expired",
    "frequency": "Over their chosen frequency",
    "cap": "Over the organization's cap",
    "already_sent": "Already sent in this run",
    "no_matching_job": "No open job matches them",
}
FIELDS = ("name", "topic", "pool_ids", "filters", "template", "language_templates", "schedule", "scheduled_at",
          "weekday", "day_of_month", "send_time", "max_jobs", "event_name", "event_starts_at", "event_place",
          "referral", "sender_name")


# --- Saving -------------------------------------------------------------------------------------

def _errors_to_service_error(errors):
    field, message = next(iter(errors.items()))
    error = ServiceError(message, field=field)
    error.errors = errors
    return error


def campaign_check(data, *, now=None):
    """Check a campaign's fields in the organization in scope; returns {field: message} (empty when fine)."""
    from talentpools.models import TalentPool
    from talentpools.segments import DefinitionError, clean_definition

    now = now or timezone.now()
    errors = {}
    name = " ".join((data.get("name") or "").split())
    if not name or len(name) > 120:
        errors["name"] = "Give the campaign a name of at most 120 characters."
    topic = data.get("topic")
    if topic not in CampaignTopic.values:
        errors["topic"] = "Choose what the campaign is about."
    pool_ids = data.get("pool_ids") or []
    if not isinstance(pool_ids, list) or not all(isinstance(p, int) and not isinstance(p, bool) for p in pool_ids):
        errors["pool_ids"] = "Use a list of pool ids."
    elif not pool_ids:
        errors["pool_ids"] = "Choose at least one pool: a campaign needs an audience."
    else:
        known = set(TalentPool.objects.filter(pk__in=pool_ids).values_list("pk", flat=True))
        missing = sorted(set(pool_ids) - known)
        if missing:
            errors["pool_ids"] = f"No such pool: {', '.join(map(str, missing))}."
    try:
        data["filters"] = clean_definition(data.get("filters") or {})
    except DefinitionError as error:
        errors["filters"] = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.errors.items())
    template = data.get("template")
    if not isinstance(template, EmailTemplate):
        template = EmailTemplate.objects.filter(pk=template if isinstance(template, int) else 0).first()
    if template is None or not template.active:
        errors["template"] = "Choose one of your active templates."
    elif topic in TOPIC_TEMPLATE_KINDS and template.kind not in TOPIC_TEMPLATE_KINDS[topic]:
        kinds = " or ".join(f"“{kind.label}”" for kind in TOPIC_TEMPLATE_KINDS[topic])
        errors["template"] = f"A {CampaignTopic(topic).label.lower()} campaign needs a {kinds} template."
    else:
        data["template"] = template
    languages = data.get("language_templates") or {}
    if not isinstance(languages, dict):
        errors["language_templates"] = "Use an object of language: template id."
    elif template is not None and "template" not in errors:
        for language, template_id in languages.items():
            other = EmailTemplate.objects.filter(pk=template_id if isinstance(template_id, int) else 0,
                                                 active=True).first()
            if other is None or other.kind != template.kind or other.language != language:
                errors["language_templates"] = (f"For “{language}”, choose an active {template.get_kind_display()} "
                                                f"template written in that language.")
                break
    schedule = data.get("schedule") or Schedule.NOW
    if schedule not in Schedule.values:
        errors["schedule"] = "Choose when it goes."
    elif schedule == Schedule.ONCE:
        when = data.get("scheduled_at")
        if when is None:
            errors["scheduled_at"] = "Choose the date and time."
        elif when <= now:
            errors["scheduled_at"] = "This moment has passed: choose one in the future."
    elif schedule in (Schedule.WEEKLY, Schedule.MONTHLY):
        if data.get("send_time") is None:
            errors["send_time"] = "Choose the time of day."
        if schedule == Schedule.WEEKLY and data.get("weekday") not in range(7):
            errors["weekday"] = "Choose a day of the week."
        if schedule == Schedule.MONTHLY and data.get("day_of_month") not in range(1, 29):
            errors["day_of_month"] = "Choose a day from 1 to 28, so that it exists every month."
    max_jobs = data.get("max_jobs", 5)
    if not isinstance(max_jobs, int) or not 1 <= max_jobs <= 20:
        errors["max_jobs"] = "Show 1 to 20 jobs."
    if topic == CampaignTopic.EVENTS:
        if not (data.get("event_name") or "").strip():
            errors["event_name"] = "Name the event."
        starts = data.get("event_starts_at")
        if starts is None:
            errors["event_starts_at"] = "Say when the event starts."
        elif starts <= now:
            errors["event_starts_at"] = "The event has already started: choose a date in the future."
        if not (data.get("event_place") or "").strip():
            errors["event_place"] = "Say where it happens, or give its link."
    if len((data.get("sender_name") or "").strip()) > 120:
        errors["sender_name"] = "Keep the sender's name to 120 characters."
    data["sender_name"] = " ".join((data.get("sender_name") or "").split())
    data["name"] = name
    return errors


@transaction.atomic
def campaign_save(*, actor, campaign=None, **data):
    """Create a draft campaign, or change one while it is a draft. Raises ServiceError (with `.errors`)."""
    if campaign is not None:
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status != CampaignStatus.DRAFT:
            raise ServiceError("Only a draft can be changed; pause or cancel it instead.", field="status")
        merged = {field: getattr(campaign, field) for field in FIELDS}
        merged.update(data)
        data = merged
    errors = campaign_check(data)
    if errors:
        raise _errors_to_service_error(errors)
    creating = campaign is None
    campaign = campaign or Campaign(created_by=actor if isinstance(actor, User) else None,
                                    created_by_label=actor_label(actor))
    for field in FIELDS:
        if field in data:
            setattr(campaign, field, data[field])
    campaign.pool_ids = sorted(set(campaign.pool_ids))
    campaign.save()
    audit("campaign.created" if creating else "campaign.updated", actor=actor, obj=campaign,
          details={"topic": campaign.topic, "pools": campaign.pool_ids, "schedule": campaign.schedule})
    return campaign


# --- What a launch needs ------------------------------------------------------------------------

# The merge fields a campaign's options put into each email, and which option needs each: a template that names
# none of them would silently leave the option out.
OPTION_FIELDS = {
    "referral": ("links.referral", "Referrals are on"),
    CampaignTopic.JOB_OFFERS: ("matching_jobs", "A job-offers campaign lists each person's matching jobs"),
    CampaignTopic.EVENTS: ("event.rsvp_link", "An event invitation carries each person's answer link"),
}
POSTAL_ADDRESS_MISSING = ("Add your organization's postal address in Settings before launching: every campaign "
                          "email must show it.")


def template_warnings(*, topic, referral, templates):
    """What the chosen templates leave out of what the chosen options provide, in the recruiter's words."""
    from .rendering import template_fields

    needs = []
    if referral:
        needs.append(OPTION_FIELDS["referral"])
    if topic in OPTION_FIELDS:
        needs.append(OPTION_FIELDS[topic])
    warnings = []
    for template in templates:
        used = template_fields(template.subject, template.html_body, template.text_body)
        for field, option in needs:
            if field not in used:
                warnings.append(f"{option}, but the template “{template.name}” ({template.get_language_display()}) "
                                f"has no {{{{ {field} }}}}: its recipients would not get it. Add it to the "
                                f"template, or choose another one.")
    return warnings


def campaign_templates(campaign):
    ids = [campaign.template_id, *[pk for pk in (campaign.language_templates or {}).values() if isinstance(pk, int)]]
    found = {t.pk: t for t in EmailTemplate.objects.filter(pk__in=ids)}
    return [found[pk] for pk in dict.fromkeys(ids) if pk in found]


def campaign_warnings(campaign):
    """What the builder shows before a launch: options its templates leave out, a missing postal address."""
    warnings = template_warnings(topic=campaign.topic, referral=campaign.referral,
                                 templates=campaign_templates(campaign))
    if not (campaign.organization.postal_address or "").strip():
        warnings.insert(0, POSTAL_ADDRESS_MISSING)
    return warnings


def _refuse_without_postal_address(campaign):
    from crm.models import Organization

    address = Organization.objects.filter(pk=campaign.organization_id).values_list("postal_address", flat=True).first()
    if not (address or "").strip():
        raise _errors_to_service_error({"postal_address": POSTAL_ADDRESS_MISSING})


# --- Schedules ---------------------------------------------------------------------------------

def next_slot(campaign, *, after):
    """The first planned moment of `campaign` strictly after `after` (None when it will not run again)."""
    tz = campaign.organization.time_zone
    if campaign.schedule == Schedule.NOW:
        return None
    if campaign.schedule == Schedule.ONCE:
        return campaign.scheduled_at if campaign.scheduled_at and campaign.scheduled_at > after else None
    local = after.astimezone(tz)
    if campaign.schedule == Schedule.WEEKLY:
        for days in range(0, 8):
            day = (local + timedelta(days=days)).date()
            if day.weekday() == campaign.weekday:
                moment = datetime.combine(day, campaign.send_time, tzinfo=tz)
                if moment > after:
                    return moment
    year, month = local.year, local.month
    for _ in range(3):
        day = min(campaign.day_of_month, calendar.monthrange(year, month)[1])
        moment = datetime.combine(datetime(year, month, day).date(), campaign.send_time, tzinfo=tz)
        if moment > after:
            return moment
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


@transaction.atomic
def campaign_launch(*, campaign, actor, now=None):
    """Schedule a draft; launching again (double click, two tabs, an API retry) changes nothing.

    Refused (ServiceError on `postal_address`) while the organization has no postal address, which every
    marketing email must show.

    Returns (campaign, launched_now)."""
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CampaignStatus.DRAFT:
        return campaign, False
    errors = campaign_check({field: getattr(campaign, field) for field in FIELDS}, now=now)
    if errors:
        raise _errors_to_service_error(errors)
    _refuse_without_postal_address(campaign)
    campaign.next_run_at = now if campaign.schedule == Schedule.NOW else next_slot(campaign, after=now)
    campaign.status = CampaignStatus.SCHEDULED
    campaign.launched_at = now
    campaign.save(update_fields=["next_run_at", "status", "launched_at", "updated_at"])
    audit("campaign.launched", actor=actor, obj=campaign, details={"first_run": campaign.next_run_at.isoformat()})
    from .tasks import run_due_campaigns

    nudge_on_commit(run_due_campaigns)  # lost with the broker: the beat's next tick starts the run
    return campaign, True


def start_due_runs(*, now=None):
    """Start a run for every campaign whose time has come (all organizations); returns the new runs' ids.

    A campaign is locked while its run is created, and a run is unique per planned time: a second
    tick, a second worker or a redelivered task creates nothing more. A run missed while no worker
    was up starts once, now; the next one is planned after now (the missed ones are not caught up).
    """
    now = now or timezone.now()
    started = []
    while True:
        with transaction.atomic():
            campaign = (Campaign.all_tenants.select_for_update(skip_locked=True).select_related("organization")
                        .filter(status=CampaignStatus.SCHEDULED, next_run_at__lte=now).order_by("next_run_at")
                        .first())
            if campaign is None:
                return started
            planned_for = campaign.next_run_at
            try:
                with transaction.atomic():
                    run = CampaignRun.all_tenants.create(organization_id=campaign.organization_id, campaign=campaign,
                                                         planned_for=planned_for)
            except IntegrityError:
                run = None
            campaign.next_run_at = next_slot(campaign, after=now) if campaign.recurring else None
            campaign.status = CampaignStatus.SCHEDULED if campaign.next_run_at else CampaignStatus.SENDING
            campaign.save(update_fields=["next_run_at", "status", "updated_at"])
            if run is not None:
                started.append(run.pk)
                from .tasks import prepare_campaign_run

                transaction.on_commit(lambda r=run: prepare_campaign_run.delay(
                    organization_id=r.organization_id, run_id=r.pk))


# --- The audience ------------------------------------------------------------------------------

def audience_queryset(campaign):
    """Everyone the campaign's pools and filters name (before the marketing rule)."""
    from talentpools.models import TalentPool
    from talentpools.segments import segment_queryset
    from talentpools.selectors import BrokenPool, pool_candidates

    union = Q(pk__in=[])
    for pool in TalentPool.objects.filter(pk__in=campaign.pool_ids):
        try:
            union |= Q(pk__in=pool_candidates(pool).values("pk"))
        except BrokenPool as error:
            raise ServiceError(f"The pool “{pool.name}” names something deleted; fix it first.",
                               field="pool_ids") from error
    audience = Candidate.objects.filter(union)
    if campaign.filters:
        audience = audience.filter(pk__in=segment_queryset(campaign.filters).values("pk"))
    if campaign.topic == CampaignTopic.JOB_OFFERS:
        from talentpools.matching import matching_any_open_job, open_jobs_for_matching

        audience = matching_any_open_job(audience, open_jobs_for_matching())
    return audience


def _purpose_id(campaign):
    return ConsentPurpose.objects.filter(key=TOPIC_PURPOSE[campaign.topic]).values_list("pk", flat=True).first()


def _recent_sends(campaign, now):
    """Conditions on candidates who had a marketing email too recently: their frequency, and the cap."""
    organization = campaign.organization
    sends = Message.objects.filter(candidate=OuterRef("pk"), purpose="marketing", sent_at__isnull=False)
    cap = Exists(sends.filter(sent_at__gt=now - timedelta(days=organization.marketing_cap_days)))
    frequency = Q()
    purpose_id = _purpose_id(campaign)
    for value, days in FREQUENCY_DAYS.items():
        frequency |= Exists(ConsentState.objects.filter(candidate=OuterRef("pk"), purpose_id=purpose_id,
                                                        frequency=value)) & Exists(
            sends.filter(topic=campaign.purpose_key, sent_at__gt=now - timedelta(days=days)))
    return frequency, cap


def eligible(campaign, queryset, *, now=None):
    """The queryset form of the marketing rule for this campaign (DESIGN: who may be emailed)."""
    now = now or timezone.now()
    frequency, cap = _recent_sends(campaign, now)
    return marketing_audience(queryset, campaign.purpose_key, now=now).exclude(frequency).exclude(cap)


def _reason(campaign, now):
    """Why each member of the audience gets no email (the first reason that applies), or "eligible"."""
    from django.db.models import Case, CharField, Value, When

    purpose_id = _purpose_id(campaign)
    states = ConsentState.objects.filter(candidate=OuterRef("pk"), purpose_id=purpose_id)
    frequency, cap = _recent_sends(campaign, now)
    return Case(
        When(do_not_contact=True, then=Value("do_not_contact")),
        When(email_status__in=UNDELIVERABLE, then=Value("undeliverable")),
        When(Exists(states.filter(state=State.GRANTED, expires_at__gt=now)), then=Case(
            When(frequency, then=Value("frequency")),
            When(cap, then=Value("cap")),
            default=Value("eligible"), output_field=CharField())),
        When(Exists(states.filter(Q(state=State.EXPIRED) | Q(state=State.GRANTED, expires_at__lte=now))),
             then=Value("consent_expired")),
        default=Value("no_consent"), output_field=CharField(),
    )


def exclusion_breakdown(campaign, queryset, *, now=None):
    """{reason: count} of the audience, each person counted under the first reason that keeps them out."""
    from django.db.models import Count

    now = now or timezone.now()
    rows = queryset.order_by().annotate(reason=_reason(campaign, now)).values("reason").annotate(n=Count("id"))
    return {row["reason"]: row["n"] for row in rows}


# --- Runs ----------------------------------------------------------------------------------------

def prepare_run(run, *, now=None):
    """Write the run's recipients to the outbox in one statement; returns how many were queued."""
    now = now or timezone.now()
    run = CampaignRun.objects.select_related("campaign", "campaign__organization").get(pk=run.pk)
    campaign = run.campaign
    if run.status != RunStatus.PREPARING:
        return run.queued
    with transaction.atomic():
        # One preparation of a run at a time: a retry that meets a live one leaves it be.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [ADVISORY_RUN, run.pk])
            if not cursor.fetchone()[0]:
                return 0
        return _prepare_locked(run, campaign, now)


ADVISORY_RUN = 7002  # the advisory-lock namespace of "preparing a campaign run"


def _prepare_locked(run, campaign, now):
    if CampaignRun.objects.filter(pk=run.pk).values_list("status", flat=True).first() != RunStatus.PREPARING:
        return 0
    # The audience and each member's reason, decided once (the costly part), then counted and written.
    annotated = audience_queryset(campaign).order_by().annotate(reason=_reason(campaign, now)).values(
        "id", "organization_id", "email", "language", "reason")
    audience_sql, audience_params = annotated.query.sql_with_params()
    languages = campaign.language_templates or {}
    template_case = "CASE c.language " + " ".join(
        "WHEN %s THEN %s" for _ in languages) + " ELSE %s END" if languages else "%s"
    template_params = [v for pair in languages.items() for v in pair] + [campaign.template_id]
    context = {"topic": campaign.purpose_key, "campaign_id": campaign.pk, "run_id": run.pk}
    import json

    insert = f"""
        INSERT INTO outreach_message (
            organization_id, unique_key, candidate_id, kind, purpose, template_id, language, to_email,
            subject, html, text, headers, context, send_after, status, status_reason, provider_message_id,
            reply_token, attempts, created_at, updated_at, campaign_run_id, topic)
        SELECT c.organization_id, 'campaign:' || %s || ':' || c.id, c.id, %s, 'marketing', {template_case},
               COALESCE(NULLIF(c.language, ''), %s), c.email, '', '', '', '{{}}'::jsonb, %s::jsonb, %s,
               'queued', '', '', '', 0, %s, %s, %s, %s
        FROM run_audience c
        WHERE c.reason = 'eligible'
        ON CONFLICT (organization_id, unique_key) DO NOTHING
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS run_audience")
            cursor.execute(f"CREATE TEMP TABLE run_audience ON COMMIT DROP AS {audience_sql}", audience_params)
            cursor.execute("SELECT reason, count(*) FROM run_audience GROUP BY reason")
            breakdown = dict(cursor.fetchall())
            cursor.execute(insert, [run.pk, campaign.template.kind, *template_params,
                                    campaign.organization.default_language, json.dumps(context), now, now, now,
                                    run.pk, campaign.purpose_key])
            queued = cursor.rowcount
        excluded = {key: n for key, n in breakdown.items() if key != "eligible" and n}
        lost = breakdown.get("eligible", 0) - queued
        if lost > 0:
            excluded["already_sent"] = excluded.get("already_sent", 0) + lost
        updated = CampaignRun.objects.filter(pk=run.pk, status=RunStatus.PREPARING).update(
            status=RunStatus.SENDING if queued else RunStatus.DONE, audience=sum(breakdown.values()), queued=queued,
            excluded=excluded, prepared_at=timezone.now(), finished_at=None if queued else timezone.now(),
            message="" if queued else "Nobody in the audience may receive it now.")
        if not updated:  # paused or cancelled while preparing, or prepared meanwhile by another task
            status = CampaignRun.objects.get(pk=run.pk).status
            if status in (RunStatus.PAUSED, RunStatus.CANCELLED):
                Message.objects.filter(campaign_run=run, status=MessageStatus.QUEUED).update(
                    status=MessageStatus.HELD if status == RunStatus.PAUSED else MessageStatus.CANCELLED)
        elif queued:
            from .services import nudge_dispatch

            nudge_dispatch()
    _finish_campaign_if_done(campaign.pk)
    return queued


def _finish_campaign_if_done(campaign_id):
    with transaction.atomic():
        campaign = Campaign.all_tenants.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status != CampaignStatus.SENDING:
            return
        if not CampaignRun.all_tenants.filter(campaign_id=campaign_id, status__in=[
                RunStatus.PREPARING, RunStatus.SENDING, RunStatus.PAUSED]).exists():
            campaign.status = CampaignStatus.FINISHED
            campaign.save(update_fields=["status", "updated_at"])


PENDING = [MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.HELD]


# A run still preparing after this long lost its task (a broker restarted): it is prepared again.
PREPARING_STALLED_AFTER = timedelta(minutes=5)


def retry_stalled_runs(*, now=None):
    """Runs whose preparation task was lost go again (preparing twice adds nothing: unique keys)."""
    from .tasks import prepare_campaign_run

    now = now or timezone.now()
    stalled = list(CampaignRun.all_tenants.filter(status=RunStatus.PREPARING,
                                                  started_at__lt=now - PREPARING_STALLED_AFTER)
                   .values_list("pk", "organization_id"))
    for run_id, organization_id in stalled:
        CampaignRun.all_tenants.filter(pk=run_id).update(started_at=now)
        prepare_campaign_run.delay(organization_id=organization_id, run_id=run_id)
    return len(stalled)


def close_finished_runs():
    """Runs whose every email has an outcome are done (all organizations); returns how many closed."""
    closed = 0
    finished = CampaignRun.all_tenants.filter(status=RunStatus.SENDING).exclude(Exists(
        Message.all_tenants.filter(campaign_run_id=OuterRef("pk"), status__in=PENDING)))
    for run_id, campaign_id in finished.values_list("pk", "campaign_id"):
        if CampaignRun.all_tenants.filter(pk=run_id, status=RunStatus.SENDING).update(
                status=RunStatus.DONE, finished_at=timezone.now()):
            closed += 1
            _finish_campaign_if_done(campaign_id)
    return closed


# --- Pause, resume, cancel -----------------------------------------------------------------------

@transaction.atomic
def campaign_pause(*, campaign, actor):
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in (CampaignStatus.SCHEDULED, CampaignStatus.SENDING):
        raise ServiceError(f"A {campaign.get_status_display().lower()} campaign cannot be paused.", field="status")
    campaign.status = CampaignStatus.PAUSED
    campaign.save(update_fields=["status", "updated_at"])
    runs = CampaignRun.objects.filter(campaign=campaign, status__in=[RunStatus.PREPARING, RunStatus.SENDING])
    run_ids = list(runs.values_list("pk", flat=True))
    runs.update(status=RunStatus.PAUSED)
    held = Message.objects.filter(campaign_run_id__in=run_ids, status=MessageStatus.QUEUED).update(
        status=MessageStatus.HELD, updated_at=timezone.now())
    audit("campaign.paused", actor=actor, obj=campaign, details={"held": held})
    return campaign


@transaction.atomic
def campaign_resume(*, campaign, actor, now=None):
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CampaignStatus.PAUSED:
        raise ServiceError("Only a paused campaign can be resumed.", field="status")
    runs = CampaignRun.objects.filter(campaign=campaign, status=RunStatus.PAUSED)
    run_ids = list(runs.values_list("pk", flat=True))
    preparing = list(runs.filter(prepared_at__isnull=True).values_list("pk", flat=True))
    runs.filter(prepared_at__isnull=True).update(status=RunStatus.PREPARING)
    runs.filter(prepared_at__isnull=False).update(status=RunStatus.SENDING)
    released = Message.objects.filter(campaign_run_id__in=run_ids, status=MessageStatus.HELD).update(
        status=MessageStatus.QUEUED, send_after=now, updated_at=now)
    if campaign.recurring or (campaign.next_run_at and campaign.next_run_at > now):
        if campaign.next_run_at is None or campaign.next_run_at < now:
            campaign.next_run_at = next_slot(campaign, after=now)
        campaign.status = CampaignStatus.SCHEDULED if campaign.next_run_at else CampaignStatus.SENDING
    else:
        campaign.status = CampaignStatus.SENDING if run_ids else CampaignStatus.SCHEDULED
    campaign.save(update_fields=["status", "next_run_at", "updated_at"])
    audit("campaign.resumed", actor=actor, obj=campaign, details={"released": released})
    from .services import nudge_dispatch
    from .tasks import prepare_campaign_run

    nudge_dispatch()
    for run_id in preparing:
        nudge_on_commit(prepare_campaign_run, organization_id=campaign.organization_id, run_id=run_id)
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign, actor):
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status in (CampaignStatus.FINISHED, CampaignStatus.CANCELLED):
        raise ServiceError(f"The campaign is {campaign.get_status_display().lower()} already.", field="status")
    campaign.status = CampaignStatus.CANCELLED
    campaign.next_run_at = None
    campaign.save(update_fields=["status", "next_run_at", "updated_at"])
    runs = CampaignRun.objects.filter(campaign=campaign, status__in=[RunStatus.PREPARING, RunStatus.SENDING,
                                                                     RunStatus.PAUSED])
    run_ids = list(runs.values_list("pk", flat=True))
    runs.update(status=RunStatus.CANCELLED, finished_at=timezone.now())
    cancelled = Message.objects.filter(campaign_run_id__in=run_ids,
                                       status__in=[MessageStatus.QUEUED, MessageStatus.HELD]).update(
        status=MessageStatus.CANCELLED, status_reason="campaign cancelled", updated_at=timezone.now())
    audit("campaign.cancelled", actor=actor, obj=campaign, details={"cancelled": cancelled})
    return campaign


# --- At send time ----------------------------------------------------------------------------------

def campaign_refusal(message, *, now=None):
    """Why a campaign email may not go now, beyond consent (frequency, cap, the run's state), or None."""
    now = now or timezone.now()
    candidate = message.candidate
    organization = message.organization
    recent = Message.objects.filter(candidate=candidate, purpose="marketing").exclude(pk=message.pk).filter(
        Q(sent_at__gt=now - timedelta(days=organization.marketing_cap_days))
        | Q(status=MessageStatus.SENDING, provider_call_started_at__isnull=False))
    state = ConsentState.objects.filter(candidate=candidate, purpose__key=message.topic).first()
    days = FREQUENCY_DAYS.get(state.frequency) if state is not None and state.frequency else None
    if days and Message.objects.filter(candidate=candidate, purpose="marketing", topic=message.topic,
                                       sent_at__gt=now - timedelta(days=days)).exclude(pk=message.pk).exists():
        return EXCLUSIONS["frequency"]
    if recent.exists():
        return EXCLUSIONS["cap"]
    return None


# --- Preview -------------------------------------------------------------------------------------

def audience_preview_now(campaign):
    """What the builder shows at once: the audience's capped count and the first few eligible."""
    from crm.pagination import capped_count

    audience = audience_queryset(campaign)
    count, capped = capped_count(audience)
    eligible_count, eligible_capped = capped_count(eligible(campaign, audience))
    return {"audience": count, "audience_capped": capped, "eligible": eligible_count,
            "eligible_capped": eligible_capped}


def preview_start(*, campaign, actor):
    """Count the audience exactly, with the reasons for each exclusion, in the background."""
    from crm.operations import operation_create, operation_start

    from .tasks import campaign_audience_preview

    operation = operation_create(kind="campaign.preview", label=f"Audience of “{campaign.name}”", total=1,
                                 params={"campaign": campaign.pk}, actor=actor,
                                 return_url=f"/o/{campaign.organization.slug}/campaigns/{campaign.pk}/")
    operation_start(operation, campaign_audience_preview)
    return operation


def preview_run(operation, progress):
    campaign = Campaign.objects.select_related("organization").get(pk=operation.params["campaign"])
    breakdown = exclusion_breakdown(campaign, audience_queryset(campaign))
    eligible_count = breakdown.pop("eligible", 0)
    progress(1)
    total = eligible_count + sum(breakdown.values())
    return {"audience": total, "eligible": eligible_count,
            "excluded": {EXCLUSIONS[key]: n for key, n in sorted(breakdown.items(), key=lambda kv: -kv[1]) if n},
            "message": f"{eligible_count:,} of {total:,} may receive it."}
