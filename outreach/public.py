"""Public pages of campaigns: no login, the organization's name and colour, work without JavaScript.

An event invitation carries a signed link naming organization, candidate and campaign; a job digest
links to the public page of each open job.
"""

from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from consent.public import from_token, over_limit
from crm.models import ActivityKind, Job, JobStatus, Organization
from crm.services import ServiceError, activity_record
from crm.tenancy import organization_scope

from .models import Campaign, CampaignStatus, CampaignTopic, Rsvp, RsvpAnswer

RSVP_LIMIT_PER_INVITATION = 20  # answers an hour, so a shared link cannot flood the timeline
RSVP_WORDS = {RsvpAnswer.YES: "coming", RsvpAnswer.NO: "not coming"}


def rsvp_refusal(campaign, *, now=None):
    """Why the invitation can no longer be answered ("cancelled", "past"), or None when it can."""
    if campaign.status == CampaignStatus.CANCELLED:
        return "cancelled"
    if campaign.event_starts_at <= (now or timezone.now()):
        return "past"
    return None


@transaction.atomic
def rsvp_record(*, campaign, candidate, answer, now=None):
    """Record a candidate's answer to an event invitation, or their change of mind.

    Returns (rsvp, changed); the timeline (and the candidate's last activity) hears only of a new answer.
    """
    now = now or timezone.now()
    if answer not in RsvpAnswer.values:
        raise ServiceError("Answer yes or no.", field="answer")
    if campaign.organization_id != candidate.organization_id or campaign.topic != CampaignTopic.EVENTS:
        raise ServiceError("This invitation is not valid.")
    reason = rsvp_refusal(campaign, now=now)
    if reason is not None:
        raise ServiceError("The event was cancelled." if reason == "cancelled" else "The event has taken place.")
    previous = (Rsvp.objects.select_for_update().filter(campaign=campaign, candidate=candidate)
                .values_list("answer", flat=True).first())
    rsvp, _ = Rsvp.objects.update_or_create(
        organization_id=campaign.organization_id, campaign=campaign, candidate=candidate,
        defaults={"answer": answer, "answered_at": now})
    changed = previous != answer
    if changed:
        activity_record(candidate=candidate, kind=ActivityKind.RSVP, occurred_at=now,
                        summary=f"Answered the invitation to {campaign.event_name}: {RSVP_WORDS[answer]}",
                        details={"campaign_id": campaign.pk})
    return rsvp, changed


def _invitation(token):
    """The organization, candidate and events campaign a signed RSVP link names, or None."""
    try:
        organization, candidate, payload = from_token("rsvp", token)
    except Http404:
        return None
    campaign = Campaign.objects.for_organization(organization).filter(
        pk=payload.get("k"), topic=CampaignTopic.EVENTS, event_starts_at__isnull=False).first()
    return None if campaign is None else (organization, candidate, campaign)


@never_cache  # personal data: no browser or proxy keeps a copy
@require_http_methods(["GET", "POST"])
def rsvp(request, token):
    found = _invitation(token)
    if found is None:
        return render(request, "outreach/public/rsvp_problem.html", {"reason": "invalid"}, status=404)
    organization, candidate, campaign = found
    page = {"organization": organization, "campaign": campaign}
    with organization_scope(organization), timezone.override(organization.time_zone):
        reason = rsvp_refusal(campaign)
        if reason is not None:
            return render(request, "outreach/public/rsvp_problem.html", {**page, "reason": reason}, status=410)
        if request.method == "POST":
            answer = request.POST.get("answer")
            if answer not in RsvpAnswer.values:
                return render(request, "outreach/public/rsvp.html", {**page, "error": True}, status=400)
            if over_limit(f"rsvp:{campaign.pk}:{candidate.pk}", RSVP_LIMIT_PER_INVITATION):
                return render(request, "consent/public/slow_down.html", {"organization": organization}, status=429)
            try:
                rsvp_record(campaign=campaign, candidate=candidate, answer=answer)
            except ServiceError:  # cancelled or started between the check and the write
                campaign.refresh_from_db()
                return render(request, "outreach/public/rsvp_problem.html",
                              {**page, "reason": rsvp_refusal(campaign) or "invalid"}, status=410)
            return render(request, "outreach/public/rsvp_thanks.html", {**page, "coming": answer == RsvpAnswer.YES})
        current = Rsvp.objects.filter(campaign=campaign, candidate=candidate).values_list("answer", flat=True).first()
        return render(request, "outreach/public/rsvp.html", {**page, "current": current})


@require_GET
def job(request, public_slug, job_id):
    organization = get_object_or_404(Organization.objects.active(), slug=public_slug)
    with organization_scope(organization):
        found = Job.objects.filter(pk=job_id, status=JobStatus.OPEN).first()
    # Draft, on hold, closed, another organization's or no such job: one answer.
    if found is None:
        return render(request, "outreach/public/job_missing.html", {"organization": organization}, status=404)
    return render(request, "outreach/public/job.html", {"organization": organization, "job": found})
