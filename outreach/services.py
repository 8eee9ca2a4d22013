"""Writes of the email engine: templates, queueing, reviews, rejection notices."""

import logging
from datetime import datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from crm.audit import audit
from crm.models import ActivityKind, Application, NoticePlan, Stage, User
from crm.services import ServiceError, activity_record
from crm.tenancy import organization_scope

from .models import EmailTemplate, Message, MessageStatus, TemplateKind, purpose_of
from .rendering import TEXT_ENGINE, TemplateProblem, check_template

EARLY_STAGES = {Stage.APPLIED, Stage.SCREENING}
NOTICE_KINDS = {TemplateKind.REJECTION_EARLY, TemplateKind.REJECTION_AFTER_INTERVIEW, TemplateKind.OFFER_DECLINED}
MORNING = time(9, 0)
logger = logging.getLogger(__name__)


# --- Templates ----------------------------------------------------------------------------

def template_check(*, subject, html_body, text_body):
    """Refuse what the restricted language does not allow; returns {field: message} or {}."""
    errors = {}
    for field, source, engine in (("subject", subject, TEXT_ENGINE), ("html_body", html_body, None),
                                  ("text_body", text_body, TEXT_ENGINE)):
        try:
            check_template(source, **({"engine": engine} if engine else {}))
        except TemplateProblem as problem:
            errors[field] = str(problem)
    return errors


@transaction.atomic
def template_save(*, actor, template=None, **fields):
    errors = template_check(subject=fields.get("subject", template.subject if template else ""),
                            html_body=fields.get("html_body", template.html_body if template else ""),
                            text_body=fields.get("text_body", template.text_body if template else ""))
    if errors:
        field, message = next(iter(errors.items()))
        raise ServiceError(message, field=field)
    creating = template is None
    template = template or EmailTemplate()
    for name, value in fields.items():
        setattr(template, name, value)
    template.subject = " ".join(template.subject.split())
    if not creating:
        template.version += 1
    template.updated_by = actor if isinstance(actor, User) else None
    template.full_clean(exclude=["organization"], validate_constraints=False)
    if EmailTemplate.objects.filter(kind=template.kind, language=template.language, name=template.name).exclude(
            pk=template.pk).exists():
        raise ServiceError("Another template of this kind and language has this name.", field="name")
    template.save()
    audit("template.created" if creating else "template.updated", actor=actor, obj=template,
          details={"version": template.version})
    return template


def template_for(kind, language, organization, template=None):
    """The active template to use: the one asked for, else the candidate's language, else the organization's."""
    if template is not None:
        return template
    active = EmailTemplate.objects.filter(kind=kind, active=True)
    for lang in (language, organization.default_language, "en"):
        found = active.filter(language=lang).order_by("name").first()
        if found is not None:
            return found
    return active.order_by("language", "name").first()


# --- The outbox -----------------------------------------------------------------------------

def nudge_dispatch():
    """Wake a sender after the commit; if the broker is down, the beat's tick finds the due rows anyway."""
    from crm.tasks import nudge_on_commit

    from .tasks import send_due_messages

    nudge_on_commit(send_due_messages)


def queue_email(*, unique_key, kind, to_email, candidate=None, application=None, template=None, language="en",
                send_after=None, status=MessageStatus.QUEUED, context=None, organization_id=None):
    """Put one email in the outbox in the caller's transaction; the same unique key never queues twice.

    Returns (message, created).
    """
    message = Message(
        organization_id=organization_id or (candidate.organization_id if candidate else None),
        unique_key=unique_key, kind=kind, purpose=purpose_of(kind), to_email=to_email, candidate=candidate,
        application=application, template=template, template_version=template.version if template else None,
        language=language, send_after=send_after or timezone.now(), status=status, context=context or {},
    )
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        return Message.objects.get(unique_key=unique_key), False
    if status == MessageStatus.QUEUED:
        nudge_dispatch()
    return message, True


def next_working_morning(organization, now=None):
    """09:00 on the next working day in the organization's time zone (today if it is still early)."""
    now = (now or timezone.now()).astimezone(organization.time_zone)
    working = set(organization.working_days) or {0, 1, 2, 3, 4}
    day = now.date()
    if not (day.weekday() in working and now.time() < MORNING):
        day += timedelta(days=1)
        while day.weekday() not in working:
            day += timedelta(days=1)
    return datetime.combine(day, MORNING, tzinfo=organization.time_zone)


# --- Rejection and offer-declined notices ------------------------------------------------------

def notice_kind_for_rejection(application):
    """The template kind a rejection of `application` (at its current stage) calls for."""
    reached = application.stage if application.stage in EARLY_STAGES | {Stage.INTERVIEW, Stage.FINAL, Stage.OFFER} \
        else (application.stage_before_close or application.furthest_stage)
    return TemplateKind.REJECTION_EARLY if reached in EARLY_STAGES else TemplateKind.REJECTION_AFTER_INTERVIEW


def notice_kind(application):
    if application.stage == Stage.OFFER_DECLINED:
        return TemplateKind.OFFER_DECLINED
    reached = application.stage_before_close or application.furthest_stage
    return TemplateKind.REJECTION_EARLY if reached in EARLY_STAGES else TemplateKind.REJECTION_AFTER_INTERVIEW


@transaction.atomic
def queue_decision_notice(*, application_id):
    """Queue the notice a closed application calls for, as planned at the decision.

    After an interview it waits in the review queue so that a recruiter checks the feedback
    before it goes. Run twice (a retried task) it changes nothing.
    """
    application = (Application.objects.select_for_update(of=("self",)).select_related("candidate", "job", "organization",
                                                                          "rejection_reason", "decided_by")
                   .filter(pk=application_id).first())
    if application is None or application.stage not in (Stage.REJECTED, Stage.OFFER_DECLINED):
        return None  # undone meanwhile
    if application.notice_plan == NoticePlan.NONE:
        return None
    organization = application.organization
    kind = notice_kind(application)
    candidate = application.candidate
    language = candidate.language or organization.default_language
    chosen = application.notice_template_id
    template = template_for(kind, language, organization,
                            EmailTemplate.objects.filter(pk=chosen, kind=kind).first() if chosen else None)
    # The email is written in its template's language: its merge fields (reason, stage) follow it.
    language = template.language if template is not None else language
    send_after = timezone.now() if application.notice_plan == NoticePlan.NOW else next_working_morning(organization)
    status = MessageStatus.REVIEW if kind == TemplateKind.REJECTION_AFTER_INTERVIEW else MessageStatus.QUEUED
    unique_key = f"notice:{candidate.pk}:{application.pk}"
    context = {"recruiter_id": application.decided_by_id}
    message, created = queue_email(unique_key=unique_key, kind=kind, to_email=candidate.email, candidate=candidate,
                                   application=application, template=template, language=language,
                                   send_after=send_after, status=status, context=context,
                                   organization_id=organization.pk)
    if not created and message.status == MessageStatus.CANCELLED:
        # Rejected again after an undo: the same notice row comes back.
        Message.objects.filter(pk=message.pk).update(
            status=status, send_after=send_after, template=template, kind=kind, status_reason="", language=language,
            template_version=template.version if template else None, context=context)
        message.refresh_from_db()
        if status == MessageStatus.QUEUED:
            nudge_dispatch()
    return message


REPAIR_WINDOW = timedelta(days=14)  # older decisions are history (imports, data from before notices existed)
REPAIR_BATCH = 500


def missing_notice_repair(now=None):
    """Queue the notice of every recent decision that planned one and has none; returns how many were missing.

    Notices are written in the deciding transaction, so finding one missing means something went wrong:
    it is logged as an error.
    """
    now = now or timezone.now()
    notices = Message.all_tenants.filter(application_id=OuterRef("pk"), kind__in=list(NOTICE_KINDS))
    missing = list(Application.all_tenants.filter(
        stage__in=[Stage.REJECTED, Stage.OFFER_DECLINED], notice_plan__in=[NoticePlan.NOW, NoticePlan.MORNING],
        decided_at__gte=now - REPAIR_WINDOW, decided_at__lt=now - timedelta(minutes=1),
    ).filter(~Exists(notices)).select_related("organization").order_by("decided_at")[:REPAIR_BATCH])
    for application in missing:
        with organization_scope(application.organization):
            message = queue_decision_notice(application_id=application.pk)
        logger.error("outbox: the %s notice of application %s (organization %s, decided %s) was missing; "
                     "queued now as message %s", application.stage, application.pk, application.organization_id,
                     application.decided_at.isoformat(), message.pk if message else None)
    return len(missing)


@transaction.atomic
def cancel_decision_notice(*, application_id):
    """Undoing a decision cancels its notice if it has not gone; returns the message if it had gone."""
    message = Message.objects.select_for_update().filter(
        application_id=application_id, kind__in=list(NOTICE_KINDS)).first()
    if message is None:
        return None
    if message.status in (MessageStatus.REVIEW, MessageStatus.QUEUED):
        message.status = MessageStatus.CANCELLED
        message.status_reason = "decision undone"
        message.save(update_fields=["status", "status_reason", "updated_at"])
        return None
    return message if message.status != MessageStatus.CANCELLED else None


@transaction.atomic
def review_approve(*, message, actor, strengths=None, improvements=None):
    """A recruiter approves an after-interview notice, with the feedback wording they settled on."""
    from crm.models import FeedbackNote
    from crm.services import feedback_note_edit_for_candidate

    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.status != MessageStatus.REVIEW:
        raise ServiceError("This email is no longer waiting for review.")
    if strengths is not None or improvements is not None:
        for note in FeedbackNote.objects.filter(application_id=message.application_id, shareable=True):
            feedback_note_edit_for_candidate(feedback=note, actor=actor,
                                             strengths=strengths if strengths is not None else note.candidate_strengths,
                                             improvements=improvements if improvements is not None
                                             else note.candidate_improvements)
    message.status = MessageStatus.QUEUED
    message.approved_by = actor
    message.approved_at = timezone.now()
    message.send_after = max(message.send_after, timezone.now()) if message.send_after else timezone.now()
    message.save(update_fields=["status", "approved_by", "approved_at", "send_after", "updated_at"])
    audit("message.approved", actor=actor, obj=message)
    nudge_dispatch()
    return message


@transaction.atomic
def needs_review_resolve(*, message, actor, resend):
    """A message whose sending is uncertain: send it again, or record that it went."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.status != MessageStatus.NEEDS_REVIEW:
        raise ServiceError("This email does not need review.")
    if resend:
        message.status = MessageStatus.QUEUED
        message.send_after = timezone.now()
        message.provider_call_started_at = None
        message.status_reason = f"resent by {actor.email}"
    else:
        message.status = MessageStatus.SENT
        message.status_reason = f"marked as sent by {actor.email}"
    message.save(update_fields=["status", "send_after", "provider_call_started_at", "status_reason", "updated_at"])
    audit("message.resent" if resend else "message.dismissed", actor=actor, obj=message)
    if resend:
        nudge_dispatch()
    return message


def send_test(*, template, actor, candidate=None):
    """Send `template` to the recruiter's own address, with dummy personal links."""
    import uuid

    return queue_email(
        unique_key=f"test:{uuid.uuid4().hex}", kind=template.kind, to_email=actor.email, candidate=candidate,
        template=template, language=template.language, organization_id=template.organization_id,
        context={"test": True, "recruiter_id": actor.pk},
    )[0]


def record_sent_on_timeline(message):
    if message.candidate_id and not message.context.get("test"):
        activity_record(candidate=message.candidate, kind=ActivityKind.EMAIL, actor=None,
                        summary=f"Email sent: {message.subject}"[:300], details={"message_id": message.pk})

