"""Campaign pages: the list, the builder with the audience preview, a campaign's runs and results."""

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.models import Operation
from crm.permissions import RECRUITING, role_required
from crm.services import ServiceError

from . import campaign_stats, campaigns
from .campaign_forms import CampaignForm
from .models import Campaign, CampaignRun, CampaignStatus, Message, Rsvp, RunStatus


def _campaign(campaign_id):
    return get_object_or_404(Campaign.objects.select_related("template", "organization"), pk=campaign_id)


@require_GET
@role_required(RECRUITING)
def campaign_list(request, org_slug):
    rows = list(Campaign.objects.select_related("template").order_by("-created_at")[:200])
    latest = {run.campaign_id: run for run in CampaignRun.objects.filter(campaign__in=rows)
              .order_by("campaign_id", "-planned_for").distinct("campaign_id")}
    for campaign in rows:
        campaign.latest_run = latest.get(campaign.pk)
    return render(request, "outreach/campaigns/list.html", {"campaigns": rows})


def _save(request, form, campaign=None):
    try:
        return campaigns.campaign_save(actor=request.user, campaign=campaign, **form.campaign_data())
    except ServiceError as error:
        for field, message in getattr(error, "errors", {error.field: error.message}).items():
            target = {"filters": "inactive_days", "language_templates": "other_languages"}.get(field, field)
            form.add_error(target if target in form.fields else None, message)
    return None


def _builder_warnings(request, form, campaign=None):
    """What the builder warns about before a launch: a missing postal address, and options that the chosen
    templates leave out (referral link, matching jobs, answer link)."""
    from .models import EmailTemplate

    data = getattr(form, "cleaned_data", None) if form.is_bound else None
    if data and data.get("template"):
        templates = list(EmailTemplate.objects.filter(pk__in=[data["template"], *data.get("other_languages", [])]))
        topic, referral = data.get("topic"), data.get("referral")
    elif campaign is not None:
        templates, topic, referral = campaigns.campaign_templates(campaign), campaign.topic, campaign.referral
    else:
        templates, topic, referral = [], None, False
    return {"template_warnings": campaigns.template_warnings(topic=topic, referral=referral, templates=templates),
            "postal_address_missing": not (request.organization.postal_address or "").strip()}


@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def campaign_new(request, org_slug):
    initial = {"schedule": "now", "max_jobs": 5}
    if request.GET.get("pool", "").isdigit():
        initial["pool_ids"] = [int(request.GET["pool"])]
    form = CampaignForm(request.POST or None, organization=request.organization, initial=initial)
    if request.method == "POST" and form.is_valid():
        campaign = _save(request, form)
        if campaign is not None:
            messages.success(request, "Draft saved. Check the audience, then launch it.")
            return redirect("outreach:campaign_detail", org_slug=org_slug, campaign_id=campaign.pk)
    return render(request, "outreach/campaigns/form.html",
                  {"form": form, "campaign": None, **_builder_warnings(request, form)},
                  status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def campaign_edit(request, org_slug, campaign_id):
    campaign = _campaign(campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        messages.error(request, "Only a draft can be changed; pause or cancel it instead.")
        return redirect("outreach:campaign_detail", org_slug=org_slug, campaign_id=campaign.pk)
    form = CampaignForm(request.POST or None, organization=request.organization,
                        initial=CampaignForm.initial_from(campaign))
    if request.method == "POST" and form.is_valid():
        if _save(request, form, campaign) is not None:
            messages.success(request, "Draft saved.")
            return redirect("outreach:campaign_detail", org_slug=org_slug, campaign_id=campaign.pk)
    return render(request, "outreach/campaigns/form.html",
                  {"form": form, "campaign": campaign, **_builder_warnings(request, form, campaign)},
                  status=400 if form.errors else 200)


@require_GET
@role_required(RECRUITING)
def campaign_detail(request, org_slug, campaign_id):
    campaign = _campaign(campaign_id)
    context = {"campaign": campaign, **_progress_context(campaign)}
    from talentpools.models import TalentPool

    context["pools"] = list(TalentPool.objects.filter(pk__in=campaign.pool_ids).order_by("name"))
    if campaign.status == CampaignStatus.DRAFT:
        context["template_warnings"] = campaigns.template_warnings(
            topic=campaign.topic, referral=campaign.referral, templates=campaigns.campaign_templates(campaign))
        context["postal_address_missing"] = not (request.organization.postal_address or "").strip()
    try:
        context["preview"] = campaigns.audience_preview_now(campaign)
    except ServiceError as error:
        context["preview_error"] = error.message
    operation_id = request.GET.get("preview")
    if operation_id and operation_id.isdigit():
        context["operation"] = Operation.objects.filter(pk=int(operation_id), kind="campaign.preview",
                                                        params__campaign=campaign.pk).first()
    messages_of_campaign = Message.objects.filter(campaign_run__campaign=campaign)
    context["results"] = campaign_stats.results(messages_of_campaign, topic=campaign.purpose_key,
                                                open_tracking=request.organization.open_tracking)
    context["chart"] = campaign_stats.chart(campaign_stats.daily_series(messages_of_campaign,
                                                                        tz=request.organization.time_zone))
    if campaign.topic == "events":
        context["rsvps"] = dict(Rsvp.objects.filter(campaign=campaign).values_list("answer").annotate(n=Count("id")))
    return render(request, "outreach/campaigns/detail.html", context)


def _progress_context(campaign):
    runs = list(CampaignRun.objects.filter(campaign=campaign).order_by("-planned_for")[:20])
    progress = campaign_stats.runs_progress(runs)
    for run in runs:
        run.progress = progress[run.pk]
        run.excluded_labels = [(campaigns.EXCLUSIONS.get(k, k), n) for k, n in sorted(
            run.excluded.items(), key=lambda kv: -kv[1])]
    active = any(run.status in (RunStatus.PREPARING, RunStatus.SENDING) for run in runs) or \
        campaign.status == CampaignStatus.SCHEDULED and campaign.next_run_at is not None
    return {"runs": runs, "active": active}


@require_GET
@role_required(RECRUITING)
def campaign_progress(request, org_slug, campaign_id):
    """The runs' progress bars, polled by the campaign page while something is under way."""
    campaign = _campaign(campaign_id)
    context = _progress_context(campaign)
    response = render(request, "outreach/campaigns/detail.html#runs", {"campaign": campaign, **context})
    if not context["active"]:
        # The run ended: the whole page (status, actions, results) changes, not just the bars.
        response["HX-Refresh"] = "true"
    return response


@require_POST
@role_required(RECRUITING)
def campaign_action(request, org_slug, campaign_id):
    campaign = _campaign(campaign_id)
    action = request.POST.get("action")
    try:
        if action == "launch":
            campaign, launched = campaigns.campaign_launch(campaign=campaign, actor=request.user)
            if launched:
                when = "now" if campaign.schedule == "now" else \
                    f"on {campaign.next_run_at.astimezone(request.organization.time_zone):%d %b %Y at %H:%M}"
                messages.success(request, f"Launched: the first run starts {when}.")
            else:
                messages.info(request, "This campaign was launched already; nothing changed.")
        elif action == "pause":
            campaigns.campaign_pause(campaign=campaign, actor=request.user)
            messages.success(request, "Paused: nothing more goes out until you resume.")
        elif action == "resume":
            campaigns.campaign_resume(campaign=campaign, actor=request.user)
            messages.success(request, "Resumed.")
        elif action == "cancel":
            campaigns.campaign_cancel(campaign=campaign, actor=request.user)
            messages.success(request, "Cancelled: the emails not sent yet will not go.")
        elif action == "preview":
            operation = campaigns.preview_start(campaign=campaign, actor=request.user)
            return redirect(f"/o/{org_slug}/campaigns/{campaign.pk}/?preview={operation.pk}#audience")
        else:
            messages.error(request, "Choose an action.")
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("outreach:campaign_detail", org_slug=org_slug, campaign_id=campaign.pk)


@require_GET
@role_required(RECRUITING)
def campaign_preview(request, org_slug, campaign_id, operation_id):
    """The exact audience, counted in the background: polled until it is ready."""
    campaign = _campaign(campaign_id)
    operation = get_object_or_404(Operation, pk=operation_id, kind="campaign.preview",
                                  params__campaign=campaign.pk)
    return render(request, "outreach/campaigns/detail.html#exact", {"campaign": campaign, "operation": operation})
