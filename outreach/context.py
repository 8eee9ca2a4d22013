"""The merge fields' values for one message, built when it is sent (or previewed)."""

from crm.models import FeedbackNote, Stage

STAGE_WORDS = {
    "en": {Stage.APPLIED: "your application", Stage.SCREENING: "the screening call",
           Stage.INTERVIEW: "the interviews", Stage.FINAL: "the final interview", Stage.OFFER: "the offer stage"},
    "fr": {Stage.APPLIED: "votre candidature", Stage.SCREENING: "l'entretien de présélection",
           Stage.INTERVIEW: "l'étape des entretiens", Stage.FINAL: "l'entretien final", Stage.OFFER: "l'étape de l'offre"},
}

REMOTE = {"en": "Remote", "fr": "Télétravail", "de": "Remote", "es": "En remoto", "nl": "Op afstand"}


def shareable_feedback(application):
    """The reviewed wording of the shareable feedback notes; internal notes never appear here."""
    notes = FeedbackNote.objects.filter(application=application, shareable=True).order_by("created_at")
    strengths = "\n\n".join(n.candidate_strengths for n in notes if n.candidate_strengths)
    improvements = "\n\n".join(n.candidate_improvements for n in notes if n.candidate_improvements)
    return {"strengths": strengths, "improvements": improvements}


def build_context(*, organization, candidate, application=None, language="en", recruiter=None, extra=None,
                  links=None):
    context = {
        "candidate": {
            "first_name": candidate.first_name if candidate else "",
            "last_name": candidate.last_name if candidate else "",
            "full_name": candidate.full_name if candidate else "",
        },
        "company": {"name": organization.name},
        "recruiter": {"name": recruiter.display_name if recruiter else "", "email": recruiter.email if recruiter else ""},
        "job": {"title": application.job.title if application else ""},
        "stage_reached": "",
        "rejection_reason": "",
        "feedback": {"strengths": "", "improvements": ""},
        # Personal links arrive with the consent pages; until then they render empty.
        "links": {"stay_in_touch": "", "preferences": "", "unsubscribe": "", "confirm": "", "referral": "",
                  **(links or {})},
        "matching_jobs": [],
        "event": {"name": "", "date": "", "place": "", "rsvp_link": ""},
        "remembered": {"job_title": "", "stage_reached": "", "applied_on": ""},
    }
    if application is not None:
        stage = application.stage_before_close or application.furthest_stage
        context["stage_reached"] = STAGE_WORDS.get(language, STAGE_WORDS["en"]).get(stage, "")
        if application.rejection_reason_id:
            context["rejection_reason"] = application.rejection_reason.text_for(
                language, default_language=organization.default_language)
        context["feedback"] = shareable_feedback(application)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(context.get(key), dict):
            context[key] = {**context[key], **value}
        else:
            context[key] = value
    return context


_LOCAL_TTL = 30.0  # seconds a worker reuses a campaign and the open jobs while sending a run
_local_cache = {}


def _reused(key, compute):
    """A campaign run's emails share the campaign and the open jobs: read them once per worker for a while."""
    import time

    now = time.monotonic()
    hit = _local_cache.get(key)
    if hit is not None and now - hit[0] < _LOCAL_TTL:
        return hit[1]
    value = compute()
    if len(_local_cache) > 1000:
        _local_cache.clear()
    _local_cache[key] = (now, value)
    return value


def campaign_fields(message, *, site_url):
    """What a campaign email adds to the merge fields for its recipient; None when it has nothing to say
    (a job digest without a matching open job)."""
    from django.utils import translation

    from .models import Campaign
    from .rendering import LAYOUT_KEY, marketing_layout

    campaign = _reused(("campaign", message.context["campaign_id"]), lambda: Campaign.objects.select_related(
        "organization").get(pk=message.context["campaign_id"]))
    # The footer (preferences, unsubscribe), dates and stages speak the language the email is written in:
    # its template's.
    written_in = message.template.language if message.template_id else message.language
    with translation.override(written_in):
        return _campaign_fields(message, campaign, site_url, written_in, {
            "sender_name": campaign.sender_name, LAYOUT_KEY: marketing_layout(written_in)})


def _campaign_fields(message, campaign, site_url, written_in, fields):
    from django.utils import formats

    from consent import tokens
    from crm.models import PIPELINE, Application

    from .models import CampaignTopic

    candidate = message.candidate
    organization = campaign.organization
    if campaign.topic == CampaignTopic.JOB_OFFERS:
        from talentpools.matching import jobs_for_candidate, open_jobs_for_matching

        jobs = jobs_for_candidate(candidate, _reused(("jobs", organization.pk), open_jobs_for_matching),
                                  limit=campaign.max_jobs)
        if not jobs:
            return None
        remote = REMOTE.get(written_in, "Remote")
        fields["matching_jobs"] = [{"title": job.title, "location": job.location or (remote if job.remote else ""),
                                    "url": f"{site_url}/p/{organization.slug}/jobs/{job.pk}/"} for job in jobs]
    if campaign.topic == CampaignTopic.EVENTS:
        starts = campaign.event_starts_at.astimezone(organization.time_zone)
        fields["event"] = {
            "name": campaign.event_name, "place": campaign.event_place,
            "date": formats.date_format(starts, "l j F Y, H:i"),
            "rsvp_link": f"{site_url}/p/rsvp/{tokens.make('rsvp', o=organization.pk, c=candidate.pk, k=campaign.pk)}/",
        }
    best = None
    for application in Application.objects.filter(candidate=candidate).select_related("job"):
        stage = application.stage_before_close or application.furthest_stage
        rank = PIPELINE.index(stage) if stage in PIPELINE else -1
        if best is None or rank > best[0]:
            best = (rank, application, stage)
    if best is not None:
        _, application, stage = best
        language = written_in if written_in in STAGE_WORDS else "en"
        fields["remembered"] = {"job_title": application.job.title,
                                "stage_reached": STAGE_WORDS[language].get(stage, ""),
                                "applied_on": formats.date_format(application.applied_at, "F Y")}
    if campaign.referral:
        fields.setdefault("links", {})["referral"] = (
            f"{site_url}/p/{organization.slug}/join/?ref={tokens.make('ref', o=organization.pk, c=candidate.pk)}")
    return fields
