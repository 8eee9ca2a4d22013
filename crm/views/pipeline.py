from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import selectors, services
from ..forms import (
    AddCandidateToJobForm,
    AddToJobForm,
    CallForm,
    DeclineOfferForm,
    FeedbackEditForm,
    FeedbackForm,
    JobForm,
    MoveForm,
    NoticePlanForm,
    RejectForm,
)
from ..models import (
    CLOSED_STAGES,
    PIPELINE,
    FeedbackNote,
    JobAssignment,
    JobStatus,
    Stage,
)
from ..panels import job_panels
from ..permissions import EVERYONE, RECRUITING, role_required
from ..services import ServiceError


def _errors(form):
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


# --- Jobs -------------------------------------------------------------------------------

@require_GET
@role_required(EVERYONE)
def job_list(request, org_slug):
    status = request.GET.get("status", "open")
    jobs = selectors.jobs_visible_to(request.membership)
    if status in JobStatus.values:
        jobs = jobs.filter(status=status)
    jobs = list(jobs.order_by("-created_at", "-id")[:200])
    counts = selectors.stage_counts([job.pk for job in jobs])
    for job in jobs:
        job.stage_counts = [(stage, counts.get(job.pk, {}).get(stage, 0)) for stage in PIPELINE]
    return render(request, "crm/jobs/list.html", {"jobs": jobs, "status": status, "statuses": JobStatus.choices})


def _save_job(request, form, job=None):
    data = {name: form.cleaned_data[name] for name in form.Meta.fields}
    return services.job_save(actor=request.user, job=job, hiring_managers=form.cleaned_data["hiring_managers"],
                             **data)


@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def job_new(request, org_slug):
    form = JobForm(request.POST or None, initial={"status": JobStatus.OPEN})
    if request.method == "POST" and form.is_valid():
        try:
            job = _save_job(request, form)
        except (ServiceError, ValidationError) as error:
            form.add_error(getattr(error, "field", None), getattr(error, "message", error))
        else:
            messages.success(request, f"{job.title} is created.")
            return redirect("job_detail", org_slug=org_slug, job_id=job.pk)
    return render(request, "crm/jobs/form.html", {"form": form, "job": None}, status=400 if form.errors else 200)


def _visible_job(request, job_id):
    return get_object_or_404(selectors.jobs_visible_to(request.membership), pk=job_id)


@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def job_edit(request, org_slug, job_id):
    job = _visible_job(request, job_id)
    form = JobForm(request.POST or None, instance=job)
    if request.method == "POST" and form.is_valid():
        try:
            job = _save_job(request, form, job=job)
        except (ServiceError, ValidationError) as error:
            form.add_error(getattr(error, "field", None), getattr(error, "message", error))
        else:
            messages.success(request, "Job saved.")
            return redirect("job_detail", org_slug=org_slug, job_id=job.pk)
    return render(request, "crm/jobs/form.html", {"form": form, "job": job}, status=400 if form.errors else 200)


@require_GET
@role_required(EVERYONE)
def job_detail(request, org_slug, job_id):
    job = _visible_job(request, job_id)
    board = selectors.pipeline_board(job)
    managers = JobAssignment.objects.filter(job=job, kind=JobAssignment.Kind.HIRING_MANAGER).select_related("user")
    context = {
        "job": job,
        "open_columns": [(Stage(stage), board[stage]) for stage in PIPELINE],
        "closed_columns": [(Stage(stage), board[stage]) for stage in CLOSED_STAGES],
        "stages": [Stage(stage) for stage in PIPELINE],
        "managers": [a.user for a in managers],
        "add_form": AddCandidateToJobForm(),
        "panels": job_panels(request, job),
    }
    return render(request, "crm/jobs/detail.html", context)


@require_POST
@role_required(RECRUITING)
def job_add_candidate(request, org_slug, job_id):
    job = _visible_job(request, job_id)
    form = AddCandidateToJobForm(request.POST)
    candidate = selectors.candidate_by_email(form.data.get("email", "")) if form.is_valid() else None
    if candidate is None:
        messages.error(request, "No candidate with this email in your talent base; add them first.")
    else:
        try:
            services.application_create(actor=request.user, candidate=candidate, job=job)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{candidate.full_name} is in the pipeline for {job.title}.")
    return redirect("job_detail", org_slug=org_slug, job_id=job.pk)


# --- Applications -----------------------------------------------------------------------

def _visible_application(request, application_id):
    return get_object_or_404(selectors.applications_visible_to(request.membership), pk=application_id)


def _application_context(request, application, **forms):
    feedback = FeedbackNote.objects.filter(application=application).select_related("author", "edited_by")
    if not request.membership.can_recruit:
        # A hiring manager reads the team's shareable notes and their own.
        feedback = [f for f in feedback if f.shareable or f.author_id == request.user.id]
    return {
        "application": application,
        "candidate": application.candidate,
        "job": application.job,
        "history": application.stage_changes.select_related("actor_user"),
        "feedback": feedback,
        "move_form": forms.get("move_form") or MoveForm(initial={"version": application.version,
                                                                 "stage": application.stage}),
        "reject_form": forms.get("reject_form") or RejectForm(initial={"version": application.version}),
        "decline_form": forms.get("decline_form") or DeclineOfferForm(initial={"version": application.version}),
        "feedback_form": forms.get("feedback_form") or FeedbackForm(),
        "call_form": forms.get("call_form") or CallForm(),
        "stages": [Stage(stage) for stage in PIPELINE],
        "can_decide": request.membership.can_recruit,
        "notice": _notice(application),
    }


def _notice(application):
    from ..notices import notice_statuses

    return notice_statuses([application.pk]).get(application.pk) if application.is_closed else None


@require_GET
@role_required(EVERYONE)
def application_detail(request, org_slug, application_id):
    application = _visible_application(request, application_id)
    return render(request, "crm/applications/detail.html", _application_context(request, application))


def _after_move(request, org_slug, application):
    if request.POST.get("next") == "board":
        return redirect("job_detail", org_slug=org_slug, job_id=application.job_id)
    if request.POST.get("next") == "waiting":
        return redirect("waiting", org_slug=org_slug)
    return redirect("application_detail", org_slug=org_slug, application_id=application.pk)


def _decision(request, org_slug, application_id, form_class, form_key, act, success):
    application = _visible_application(request, application_id)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, _errors(form) or "Please complete the form.")
        return render(request, "crm/applications/detail.html",
                      _application_context(request, application, **{form_key: form}), status=400)
    try:
        application = act(application, form.cleaned_data)
    except ServiceError as error:
        messages.error(request, error.message)
        application.refresh_from_db()
        return render(request, "crm/applications/detail.html", _application_context(request, application),
                      status=409)
    messages.success(request, success(application))
    return _after_move(request, org_slug, application)


@require_POST
@role_required(RECRUITING)
def application_move(request, org_slug, application_id):
    def act(application, data):
        return services.application_advance(application=application, to_stage=data["stage"], actor=request.user,
                                            expected_version=data["version"])

    return _decision(request, org_slug, application_id, MoveForm, "move_form", act,
                     lambda a: f"{a.candidate.full_name} moved to {a.get_stage_display().lower()}.")


@require_POST
@role_required(RECRUITING)
def application_reject(request, org_slug, application_id):
    def act(application, data):
        return services.application_reject(application=application, reason=data["reason"], note=data["note"],
                                           actor=request.user, expected_version=data["version"],
                                           notice_plan=data["send_email"], notice_skip_reason=data["skip_reason"])

    def success(application):
        message = f"{application.candidate.full_name} is rejected ({application.rejection_reason.label})."
        if application.candidate.silver_medalist:
            message += " They are a silver medalist: keep them close."
        return message

    return _decision(request, org_slug, application_id, RejectForm, "reject_form", act, success)


@require_POST
@role_required(RECRUITING)
def application_decline_offer(request, org_slug, application_id):
    def act(application, data):
        return services.application_decline_offer(application=application, reason=data["reason"], note=data["note"],
                                                  actor=request.user, expected_version=data["version"])

    return _decision(request, org_slug, application_id, DeclineOfferForm, "decline_form", act,
                     lambda a: f"Recorded: {a.candidate.full_name} declined the offer.")


@require_POST
@role_required(RECRUITING)
def application_withdraw(request, org_slug, application_id):
    from ..forms import VersionedForm

    def act(application, data):
        return services.application_withdraw(application=application, actor=request.user,
                                             expected_version=data["version"])

    return _decision(request, org_slug, application_id, VersionedForm, "withdraw_form", act,
                     lambda a: f"{a.candidate.full_name} withdrew from {a.job.title}.")


@require_POST
@role_required(RECRUITING)
def application_undo(request, org_slug, application_id):
    from ..forms import VersionedForm

    def act(application, data):
        return services.application_undo_rejection(application=application, actor=request.user,
                                                   expected_version=data["version"])

    def success(application):
        from ..notices import notice_statuses

        status = notice_statuses([application.pk]).get(application.pk)
        message = f"Rejection undone: back to {application.get_stage_display().lower()}."
        if status and status[0] not in ("cancelled", "review", "queued"):
            message += (f" Careful: the rejection email had already gone ({status[1].lower()}); "
                        "tell the candidate yourself.")
        return message

    return _decision(request, org_slug, application_id, VersionedForm, "undo_form", act, success)


@require_POST
@role_required(EVERYONE)
def application_feedback(request, org_slug, application_id):
    application = _visible_application(request, application_id)
    form = FeedbackForm(request.POST)
    if form.is_valid():
        try:
            services.feedback_note_create(application=application, author=request.user,
                                          membership=request.membership, **form.cleaned_data)
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
    if form.errors:
        return render(request, "crm/applications/detail.html",
                      _application_context(request, application, feedback_form=form), status=400)
    messages.success(request, "Feedback saved." + (" A recruiter will review it before the candidate sees it."
                                                     if form.cleaned_data["shareable"] else ""))
    return redirect("application_detail", org_slug=org_slug, application_id=application.pk)


@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def feedback_edit(request, org_slug, application_id, feedback_id):
    application = _visible_application(request, application_id)
    feedback = get_object_or_404(FeedbackNote, pk=feedback_id, application=application)
    if not feedback.shareable:
        raise Http404("Internal notes are not reworded for candidates.")
    form = FeedbackEditForm(request.POST or None, initial={"strengths": feedback.candidate_strengths,
                                                           "improvements": feedback.candidate_improvements})
    if request.method == "POST" and form.is_valid():
        services.feedback_note_edit_for_candidate(feedback=feedback, actor=request.user, **form.cleaned_data)
        messages.success(request, "The candidate's version is saved; the original stays as written.")
        return redirect("application_detail", org_slug=org_slug, application_id=application.pk)
    return render(request, "crm/applications/feedback_edit.html",
                  {"application": application, "feedback": feedback, "form": form})


@require_POST
@role_required(RECRUITING)
def application_call(request, org_slug, application_id):
    application = _visible_application(request, application_id)
    form = CallForm(request.POST)
    if form.is_valid():
        services.application_log_call(application=application, actor=request.user, **form.cleaned_data)
        messages.success(request, "Call logged on the candidate's timeline.")
    else:
        messages.error(request, _errors(form))
    return redirect("application_detail", org_slug=org_slug, application_id=application.pk)


@require_POST
@role_required(RECRUITING)
def candidate_add_to_job(request, org_slug, candidate_id):
    candidate = get_object_or_404(selectors.candidates(), pk=candidate_id)
    form = AddToJobForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of your open jobs.")
    else:
        try:
            application = services.application_create(actor=request.user, candidate=candidate,
                                                      job=form.cleaned_data["job"])
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{candidate.full_name} added to the pipeline of {application.job.title}.")
    back = request.POST.get("next") or ""
    if back.startswith(f"/o/{org_slug}/") and "//" not in back:
        return redirect(back)
    return redirect("candidate_detail", org_slug=org_slug, candidate_id=candidate.pk)


@require_POST
@role_required(RECRUITING)
def candidate_silver_medalist(request, org_slug, candidate_id):
    candidate = get_object_or_404(selectors.candidates(), pk=candidate_id)
    value = request.POST.get("silver_medalist") == "on"
    services.candidate_set_silver_medalist(candidate=candidate, actor=request.user, value=value,
                                           note=request.POST.get("note", ""))
    messages.success(request, "Marked silver medalist." if value else "Silver medalist flag cleared.")
    return redirect("candidate_detail", org_slug=org_slug, candidate_id=candidate.pk)


@require_GET
@role_required(EVERYONE)
def my_applications(request, org_slug):
    applications = (selectors.applications_visible_to(request.membership)
                    .filter(job__assignments__user=request.user).distinct()
                    .prefetch_related(Prefetch("feedback_notes", queryset=FeedbackNote.objects.filter(
                        author=request.user), to_attr="my_feedback"))
                    .order_by("stage", "-moved_at")[:300])
    return render(request, "crm/applications/mine.html", {"applications": applications})


SENT_NOTICE = ("sent", "delivered", "opened", "clicked", "complained")
# A notice in one of these states never goes by itself: the candidate is told another way, and that is recorded.
DEAD_NOTICE = ("failed", "bounced", "suppressed")


def _waiting_rows(request, waiting):
    from ..notices import notice_statuses

    organization = request.organization
    statuses = notice_statuses([a.pk for a in waiting["closed"].rows])
    overdue_before = selectors.working_days_ago(organization, organization.notice_limit_working_days)
    for application in waiting["closed"].rows:
        application.notice = statuses.get(application.pk)
        state = application.notice[0] if application.notice else None
        application.notice_action = {"review": "approve", "needs_review": "resolve"}.get(
            state, "record" if state in DEAD_NOTICE else "plan")
        application.notice_overdue = application.moved_at < overdue_before
    stages = [Stage(stage) for stage in PIPELINE]
    for application in waiting["quiet"].rows:
        application.next_stages = [stage for stage in stages if stage != application.stage
                                   and (stage != Stage.HIRED or application.stage == Stage.OFFER)]


@require_GET
@role_required(RECRUITING)
def waiting(request, org_slug):
    """The waiting list: what the team owes candidates, each row with the action that clears it."""
    from ..pagination import InvalidCursor

    try:
        waiting = selectors.waiting_for_an_answer(request.organization, closed_cursor=request.GET.get("closed"),
                                                  quiet_cursor=request.GET.get("quiet"))
    except InvalidCursor as error:
        messages.error(request, str(error))
        return redirect("waiting", org_slug=org_slug)
    _waiting_rows(request, waiting)
    return render(request, "crm/applications/waiting.html", {
        "waiting": waiting, "notice_form": NoticePlanForm(), "reject_reasons": selectors.rejection_reasons(),
        "closed_cursor": request.GET.get("closed", ""), "quiet_cursor": request.GET.get("quiet", ""),
    })


@require_POST
@role_required(RECRUITING)
def application_notice(request, org_slug, application_id):
    """Plan a decision's owed notice (send now, next working morning) or record why none goes."""
    from ..notices import notice_statuses

    application = _visible_application(request, application_id)
    form = NoticePlanForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{application.candidate.full_name}: {_errors(form)}")
        return redirect("waiting", org_slug=org_slug)
    data = form.cleaned_data
    status = notice_statuses([application.pk]).get(application.pk)
    if data["notice_plan"] != "none" and status and status[0] not in ("cancelled",):
        messages.error(request, f"The email to {application.candidate.full_name} is already in the outbox "
                                f"({status[1].lower()}): it is not sent twice. If they were told another way, "
                                "record it with “no email” and how.")
        return redirect("waiting", org_slug=org_slug)
    try:
        services.application_notice_plan(application=application, notice_plan=data["notice_plan"],
                                          notice_skip_reason=data["skip_reason"], actor=request.user,
                                          expected_version=data["version"])
    except ServiceError as error:
        messages.error(request, f"{application.candidate.full_name}: {error.message}")
    else:
        done = {"now": "the email goes now", "morning": "the email goes the next working morning"}.get(
            data["notice_plan"], "no email, recorded why")
        messages.success(request, f"{application.candidate.full_name}: {done}.")
    return redirect("waiting", org_slug=org_slug)
