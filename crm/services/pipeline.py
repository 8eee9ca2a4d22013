"""Jobs, applications and their moves, decisions, hiring-manager feedback and silver medalists."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..audit import actor_label, audit
from ..events import (
    application_rejected,
    notice_planned,
    offer_declined,
    rejection_undone,
    send_in_transaction,
)
from ..models import (
    CLOSED_STAGES,
    OPEN_STAGES,
    PIPELINE,
    SILVER_MEDAL_STAGES,
    ActivityKind,
    ApiKey,
    Application,
    Candidate,
    FeedbackNote,
    Job,
    JobAssignment,
    JobStatus,
    NoticePlan,
    OfferDeclinedReason,
    RejectionReason,
    Stage,
    StageChange,
    User,
    stage_rank,
)
from .candidates import activity_record, normalize_skills
from .errors import ServiceError
from .reasons import DEFAULT_REJECTION_REASON_TEXTS

DEFAULT_REJECTION_REASONS = [
    ("Skills gap", "we were looking for a closer match with some of the skills the role needs"),
    ("Experience level", "we needed a different level of experience for this role"),
    ("Another candidate chosen", "we chose another candidate whose profile was a closer fit"),
    ("Position closed", "the position has been closed"),
    ("Filled internally", "the position was filled internally"),
    ("Salary expectations", "we could not meet your salary expectations for this role"),
    ("No response", "we did not hear back from you"),
    ("Location or remote", "the location or remote arrangement did not match"),
]


class StaleApplication(ServiceError):
    def __init__(self):
        super().__init__("This application changed while you were looking at it: reload the page and try again. "
                         "Nothing was changed.", field="version")


def rejection_reasons_create_defaults(organization):
    for position, (label, text) in enumerate(DEFAULT_REJECTION_REASONS):
        RejectionReason.all_tenants.get_or_create(
            organization=organization, label=label,
            defaults={"candidate_text": text, "position": position,
                      "candidate_texts": dict(DEFAULT_REJECTION_REASON_TEXTS.get(label, {}))},
        )


# --- Jobs ---------------------------------------------------------------------------------

JOB_FIELDS = ("title", "department", "location", "remote", "seniority", "required_skills", "description",
              "status", "external_id")


def _job_status_dates(job, previous_status):
    now = timezone.now()
    if job.status == JobStatus.OPEN and job.opened_at is None:
        job.opened_at = now
    if job.status == JobStatus.CLOSED and previous_status != JobStatus.CLOSED:
        job.closed_at = now
    if job.status != JobStatus.CLOSED:
        job.closed_at = None


def _set_assignments(job, kind, users):
    if users is None:
        return
    wanted = {user.pk for user in users}
    JobAssignment.objects.filter(job=job, kind=kind).exclude(user_id__in=wanted).delete()
    existing = set(JobAssignment.objects.filter(job=job, kind=kind).values_list("user_id", flat=True))
    JobAssignment.objects.bulk_create(
        [JobAssignment(organization_id=job.organization_id, job=job, user_id=pk, kind=kind)
         for pk in wanted - existing]
    )


@transaction.atomic
def job_save(*, actor, job=None, hiring_managers=None, recruiters=None, **fields):
    """Create (job=None) or change a job and its assignments."""
    unknown = set(fields) - set(JOB_FIELDS)
    if unknown:
        raise ServiceError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    creating = job is None
    job = job or Job()
    previous_status = job.status if not creating else None
    for name, value in fields.items():
        setattr(job, name, normalize_skills(value) if name == "required_skills" else value)
    _job_status_dates(job, previous_status)
    job.full_clean(exclude=["organization"], validate_constraints=False)
    if job.external_id and Job.objects.filter(external_id=job.external_id).exclude(pk=job.pk).exists():
        raise ServiceError("Another job has this external id.", field="external_id")
    job.save()
    _set_assignments(job, JobAssignment.Kind.HIRING_MANAGER, hiring_managers)
    _set_assignments(job, JobAssignment.Kind.RECRUITER, recruiters)
    if creating or previous_status != job.status:
        audit("job.created" if creating else "job.status_changed", actor=actor, obj=job,
              details={"status": job.status})
    return job


# --- Applications -------------------------------------------------------------------------

def _actor_fields(actor):
    return {
        "actor_user": actor if isinstance(actor, User) else None,
        "actor_label": actor_label(actor) if actor is not None else "system",
    }


def _record_move(application, from_stage, to_stage, actor, note=""):
    StageChange.objects.create(organization_id=application.organization_id, application=application,
                               from_stage=from_stage, to_stage=to_stage, note=note[:300], **_actor_fields(actor))


def _locked(application, expected_version):
    application = Application.objects.select_for_update().select_related("job", "candidate").get(pk=application.pk)
    if expected_version is not None and int(expected_version) != application.version:
        raise StaleApplication()
    return application


# Stages that end an application: reaching one records who decided and when (`decided_at`).
DECIDED_STAGES = [Stage.HIRED, *CLOSED_STAGES]


def _decide(application, actor, to_stage):
    if to_stage in CLOSED_STAGES:
        application.stage_before_close = application.stage
    application.decided_at = timezone.now()
    application.decided_by = actor if isinstance(actor, User) else None
    application.decided_by_api_key = actor if isinstance(actor, ApiKey) else None
    application.decider_label = actor_label(actor) if actor is not None else "system"
    return ["stage_before_close", "decided_at", "decided_by", "decided_by_api_key", "decider_label"]


def _save_move(application, to_stage, actor, fields=()):
    """The one way an application changes stage: every service's move goes through here.

    Reaching a decided stage (hired, rejected, withdrawn, offer declined) records the decision's
    time and author, which the dashboard's figures and the waiting list read.
    """
    fields = list(fields)
    if to_stage in DECIDED_STAGES:
        fields += _decide(application, actor, to_stage)
    application.stage = to_stage
    if stage_rank(to_stage) > stage_rank(application.furthest_stage):
        application.furthest_stage = to_stage
    application.moved_at = timezone.now()
    application.version += 1
    application.save(update_fields=list(dict.fromkeys(["stage", "furthest_stage", "moved_at", "version", *fields])))


@transaction.atomic
def application_create(*, actor, candidate, job, stage=Stage.APPLIED, external_id="", applied_at=None):
    """A candidate applies (or is added) to a job; a second open application there is refused."""
    if stage not in PIPELINE or stage == Stage.HIRED:
        raise ServiceError("A new application starts at an open stage.", field="stage")
    if Application.objects.filter(candidate=candidate, job=job, stage__in=OPEN_STAGES + [Stage.HIRED]).exists():
        raise ServiceError(f"{candidate.full_name} already has an open application for {job.title}; "
                           "they can apply again once it is closed.", field="job")
    if external_id and Application.objects.filter(external_id=external_id).exists():
        raise ServiceError("Another application has this external id.", field="external_id")
    applied_at = applied_at or timezone.now()
    try:
        with transaction.atomic():
            application = Application.objects.create(
                organization_id=candidate.organization_id, candidate=candidate, job=job, stage=stage,
                furthest_stage=stage, external_id=external_id, applied_at=applied_at, moved_at=applied_at,
            )
    except IntegrityError as error:
        raise ServiceError(f"{candidate.full_name} already has an open application for {job.title}.",
                           field="job") from error
    _record_move(application, "", stage, actor)
    activity_record(candidate=candidate, kind=ActivityKind.APPLIED, actor=actor, occurred_at=applied_at,
                    summary=f"Applied to {job.title}", details={"application_id": application.pk})
    return application


def _check_move(application, to_stage):
    if to_stage not in PIPELINE:
        raise ServiceError(f"Unknown stage “{to_stage}”; use reject, withdraw or decline-offer to close.",
                           field="stage")
    if application.stage == Stage.HIRED:
        raise ServiceError("This candidate is hired: the application cannot move back.", field="stage")
    if application.stage in CLOSED_STAGES:
        raise ServiceError("This application is closed; undo the decision to reopen it.", field="stage")
    if to_stage == Stage.HIRED and application.stage != Stage.OFFER:
        raise ServiceError("Only a candidate with an offer can be marked hired.", field="stage")


@transaction.atomic
def application_advance(*, application, to_stage, actor, expected_version=None):
    """Move an open application to another pipeline stage (the pages' and the API's move). Moving to where it
    is changes nothing; reaching `hired` records the decision (`decided_at`, who decided)."""
    application = _locked(application, expected_version)
    if application.stage == to_stage:
        return application
    _check_move(application, to_stage)
    from_stage = application.stage
    _save_move(application, to_stage, actor)
    _record_move(application, from_stage, to_stage, actor)
    activity_record(
        candidate=application.candidate, kind=ActivityKind.STAGE_CHANGE, actor=actor,
        summary=f"{application.job.title}: {Stage(from_stage).label} → {Stage(to_stage).label}",
        details={"application_id": application.pk, "from": from_stage, "to": to_stage},
    )
    if to_stage == Stage.HIRED:
        audit("application.hired", actor=actor, obj=application, details={"job": application.job.title})
    return application


def _earn_silver_medal(application, why):
    Candidate.objects.filter(pk=application.candidate_id).update(
        silver_medalist=True, silver_medalist_note=why[:200]
    )


@transaction.atomic
def application_reject(*, application, reason, note="", actor, expected_version=None, notice_plan=NoticePlan.MORNING,
                       notice_skip_reason="", notice_template_id=None):
    """Reject with a reason from the organization's list; the same rejection repeated is a no-op.

    `notice_plan` says when the candidate hears of it: now, the next working morning (the
    default) or not at all (then `notice_skip_reason` is required).
    """
    if notice_plan not in NoticePlan.values:
        raise ServiceError("Choose when to send the rejection email.", field="send_email")
    notice_skip_reason = " ".join((notice_skip_reason or "").split())
    if notice_plan == NoticePlan.NONE and not notice_skip_reason:
        raise ServiceError("Say why the candidate gets no email.", field="notice_skip_reason")
    if not isinstance(reason, RejectionReason):
        reason = RejectionReason.objects.filter(pk=reason, active=True).first()
        if reason is None:
            raise ServiceError("Choose a rejection reason from your organization's list.", field="reason")
    note = (note or "").strip()
    application = _locked(application, expected_version)
    if application.stage == Stage.REJECTED:
        if application.rejection_reason_id == reason.pk and application.rejection_note == note:
            return application
        raise ServiceError("This application is already rejected.", field="stage")
    if application.stage not in OPEN_STAGES:
        raise ServiceError(f"A {application.get_stage_display().lower()} application cannot be rejected.",
                           field="stage")
    from_stage = application.stage
    application.rejection_reason = reason
    application.rejection_note = note
    application.notice_plan = notice_plan
    application.notice_skip_reason = notice_skip_reason if notice_plan == NoticePlan.NONE else ""
    application.notice_template_id = notice_template_id
    _save_move(application, Stage.REJECTED, actor, ["rejection_reason", "rejection_note", "notice_plan",
                                             "notice_skip_reason", "notice_template_id"])
    _record_move(application, from_stage, Stage.REJECTED, actor, note=reason.label)
    activity_record(candidate=application.candidate, kind=ActivityKind.STAGE_CHANGE, actor=actor,
                    summary=f"{application.job.title}: rejected at {Stage(from_stage).label.lower()} ({reason.label})",
                    details={"application_id": application.pk, "from": from_stage, "to": Stage.REJECTED})
    if from_stage in SILVER_MEDAL_STAGES:
        _earn_silver_medal(application, f"Rejected at {Stage(from_stage).label.lower()} for {application.job.title}")
    audit("application.rejected", actor=actor, obj=application, details={"reason": reason.label, "stage": from_stage})
    send_in_transaction(application_rejected, organization_id=application.organization_id,
                        application_id=application.pk)
    return application


@transaction.atomic
def application_decline_offer(*, application, reason, note="", actor, expected_version=None,
                              notice_plan=NoticePlan.MORNING):
    """The candidate declined the offer: a silver medalist, with their reason."""
    if reason not in OfferDeclinedReason.values:
        raise ServiceError("Choose why the offer was declined.", field="reason")
    note = (note or "").strip()
    application = _locked(application, expected_version)
    if application.stage == Stage.OFFER_DECLINED:
        if application.offer_declined_reason == reason and application.offer_declined_note == note:
            return application
        raise ServiceError("The offer is already recorded as declined.", field="stage")
    if application.stage != Stage.OFFER:
        raise ServiceError("Only an application at the offer stage can decline the offer.", field="stage")
    application.offer_declined_reason = reason
    application.offer_declined_note = note
    application.notice_plan = notice_plan
    _save_move(application, Stage.OFFER_DECLINED, actor, ["offer_declined_reason", "offer_declined_note",
                                                   "notice_plan"])
    _record_move(application, Stage.OFFER, Stage.OFFER_DECLINED, actor, note=OfferDeclinedReason(reason).label)
    activity_record(candidate=application.candidate, kind=ActivityKind.REPLY, actor=actor,
                    summary=f"{application.job.title}: declined the offer ({OfferDeclinedReason(reason).label})",
                    details={"application_id": application.pk})
    _earn_silver_medal(application, f"Declined an offer for {application.job.title}")
    audit("application.offer_declined", actor=actor, obj=application, details={"reason": reason})
    send_in_transaction(offer_declined, organization_id=application.organization_id, application_id=application.pk)
    return application


@transaction.atomic
def application_notice_plan(*, application, notice_plan, notice_skip_reason="", actor, expected_version=None):
    """Plan the notice of a rejection or declined offer that is still owed one.

    `now` or `morning` queues the email (once: a notice already in the outbox is not sent twice);
    `none` records why the candidate gets no email (told another way, the address bounced, ...).
    """
    if notice_plan not in NoticePlan.values:
        raise ServiceError("Choose when to send the email, or that none is sent.", field="notice_plan")
    notice_skip_reason = " ".join((notice_skip_reason or "").split())
    if notice_plan == NoticePlan.NONE and not notice_skip_reason:
        raise ServiceError("Say why the candidate gets no email.", field="notice_skip_reason")
    application = _locked(application, expected_version)
    if application.stage not in (Stage.REJECTED, Stage.OFFER_DECLINED):
        raise ServiceError("Only a rejection or a declined offer has a notice to plan.", field="stage")
    application.notice_plan = notice_plan
    application.notice_skip_reason = notice_skip_reason if notice_plan == NoticePlan.NONE else ""
    application.version += 1
    application.save(update_fields=["notice_plan", "notice_skip_reason", "version"])
    audit("application.notice_planned", actor=actor, obj=application,
          details={"plan": notice_plan, "reason": application.notice_skip_reason})
    if notice_plan != NoticePlan.NONE:
        send_in_transaction(notice_planned, organization_id=application.organization_id,
                            application_id=application.pk)
    return application


@transaction.atomic
def application_withdraw(*, application, note="", actor, expected_version=None):
    application = _locked(application, expected_version)
    if application.stage == Stage.WITHDRAWN:
        return application
    if application.stage not in OPEN_STAGES:
        raise ServiceError("Only an open application can be withdrawn.", field="stage")
    from_stage = application.stage
    _save_move(application, Stage.WITHDRAWN, actor)
    _record_move(application, from_stage, Stage.WITHDRAWN, actor, note=note)
    activity_record(candidate=application.candidate, kind=ActivityKind.STAGE_CHANGE, actor=actor,
                    summary=f"{application.job.title}: withdrew", details={"application_id": application.pk})
    return application


@transaction.atomic
def application_undo_rejection(*, application, actor, expected_version=None):
    """Reopen a rejected application at the stage it was rejected from."""
    application = _locked(application, expected_version)
    if application.stage != Stage.REJECTED:
        if application.stage in OPEN_STAGES:
            return application  # already undone: a retried request changes nothing
        raise ServiceError("Only a rejection can be undone.", field="stage")
    if Application.objects.filter(candidate=application.candidate, job=application.job,
                                  stage__in=OPEN_STAGES + [Stage.HIRED]).exclude(pk=application.pk).exists():
        raise ServiceError("The candidate has applied to this job again since; this rejection stays.",
                           field="stage")
    restored = application.stage_before_close or Stage.APPLIED
    reason = application.rejection_reason.label if application.rejection_reason else ""
    application.rejection_reason = None
    application.rejection_note = ""
    application.decided_at = None
    application.decided_by = None
    application.decided_by_api_key = None
    application.decider_label = ""
    application.stage_before_close = ""
    application.stage = restored
    application.moved_at = timezone.now()
    application.version += 1
    application.save(update_fields=["rejection_reason", "rejection_note", "decided_at", "decided_by",
                                    "decided_by_api_key", "decider_label", "stage_before_close", "stage",
                                    "moved_at", "version"])
    _record_move(application, Stage.REJECTED, restored, actor, note="Rejection undone")
    activity_record(candidate=application.candidate, kind=ActivityKind.STAGE_CHANGE, actor=actor,
                    summary=f"{application.job.title}: rejection undone, back to {Stage(restored).label.lower()}",
                    details={"application_id": application.pk})
    if restored in SILVER_MEDAL_STAGES and not _other_silver_medal(application):
        Candidate.objects.filter(pk=application.candidate_id).update(silver_medalist=False, silver_medalist_note="")
    audit("application.rejection_undone", actor=actor, obj=application, details={"reason": reason})
    send_in_transaction(rejection_undone, organization_id=application.organization_id, application_id=application.pk)
    return application


def _other_silver_medal(application):
    return Application.objects.filter(candidate_id=application.candidate_id).exclude(pk=application.pk).filter(
        stage__in=[Stage.REJECTED, Stage.OFFER_DECLINED], furthest_stage__in=SILVER_MEDAL_STAGES,
    ).exists()


@transaction.atomic
def candidate_set_silver_medalist(*, candidate, actor, value, note=""):
    Candidate.objects.filter(pk=candidate.pk).update(silver_medalist=value,
                                                     silver_medalist_note=(note or "Set by hand")[:200] if value else "")
    activity_record(candidate=candidate, kind=ActivityKind.UPDATED, actor=actor,
                    summary="Marked silver medalist" if value else "Silver medalist flag cleared")
    candidate.refresh_from_db()
    return candidate


@transaction.atomic
def application_log_call(*, application, actor, outcome, note=""):
    return activity_record(candidate=application.candidate, kind=ActivityKind.CALL, actor=actor,
                           summary=f"Call about {application.job.title}: {outcome}"[:300], body=note,
                           details={"application_id": application.pk})


# --- Feedback -----------------------------------------------------------------------------

def user_may_give_feedback(user, application, membership):
    if membership.can_recruit:
        return True
    return JobAssignment.objects.filter(job_id=application.job_id, user=user,
                                        kind=JobAssignment.Kind.HIRING_MANAGER).exists()


@transaction.atomic
def feedback_note_create(*, application, author, strengths="", improvements="", note="", shareable=False,
                         membership=None):
    if membership is not None and not user_may_give_feedback(author, application, membership):
        raise ServiceError("Only the job's hiring managers and recruiters can give feedback here.")
    if not any(text.strip() for text in (strengths, improvements, note)):
        raise ServiceError("Write some feedback first.", field="strengths")
    feedback = FeedbackNote.objects.create(
        organization_id=application.organization_id, application=application,
        author=author if isinstance(author, User) else None,
        author_label=actor_label(author) if author is not None else "",
        strengths=strengths.strip(), improvements=improvements.strip(), note=note.strip(), shareable=shareable,
    )
    activity_record(candidate=application.candidate, kind=ActivityKind.NOTE, actor=author,
                    summary=f"Feedback on {application.job.title}" + (" (shareable)" if shareable else " (internal)"),
                    details={"application_id": application.pk, "feedback_id": feedback.pk})
    return feedback


@transaction.atomic
def feedback_note_edit_for_candidate(*, feedback, actor, strengths, improvements):
    """A recruiter rewords a shareable note before it reaches the candidate; the original stays."""
    feedback = FeedbackNote.objects.select_for_update().get(pk=feedback.pk)
    if not feedback.shareable:
        raise ServiceError("Internal notes never reach the candidate.")
    feedback.edited_strengths = strengths.strip()
    feedback.edited_improvements = improvements.strip()
    feedback.edited_by = actor if isinstance(actor, User) else None
    feedback.edited_at = timezone.now()
    feedback.save(update_fields=["edited_strengths", "edited_improvements", "edited_by", "edited_at"])
    return feedback


@transaction.atomic
def rejection_reason_add(*, label, candidate_text, actor):
    label = " ".join(label.split())
    if RejectionReason.objects.filter(label__iexact=label).exists():
        raise ServiceError("This reason is in the list already.", field="label")
    position = (RejectionReason.objects.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    reason = RejectionReason.objects.create(label=label, candidate_text=candidate_text.strip(), position=position)
    audit("rejection_reason.added", actor=actor, obj=reason)
    return reason


@transaction.atomic
def rejection_reason_set_active(*, reason, active, actor):
    """Retired reasons stay on past rejections; they are no longer offered."""
    reason.active = active
    reason.save(update_fields=["active"])
    audit("rejection_reason.activated" if active else "rejection_reason.retired", actor=actor, obj=reason)
    return reason
