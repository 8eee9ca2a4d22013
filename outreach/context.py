"""The merge fields' values for one message, built when it is sent (or previewed)."""

from crm.models import FeedbackNote, Stage

STAGE_WORDS = {
    "en": {Stage.APPLIED: "your application", Stage.SCREENING: "the screening call",
           Stage.INTERVIEW: "the interviews", Stage.FINAL: "the final interview", Stage.OFFER: "the offer stage"},
    "fr": {Stage.APPLIED: "votre candidature", Stage.SCREENING: "l'entretien de présélection",
           Stage.INTERVIEW: "les entretiens", Stage.FINAL: "l'entretien final", Stage.OFFER: "l'étape de l'offre"},
}


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
        "links": {"stay_in_touch": "", "preferences": "", "unsubscribe": "", "confirm": "", **(links or {})},
        "matching_jobs": [],
        "event": {"name": "", "date": "", "place": "", "rsvp_link": ""},
    }
    if application is not None:
        stage = application.stage_before_close or application.furthest_stage
        context["stage_reached"] = STAGE_WORDS.get(language, STAGE_WORDS["en"]).get(stage, "")
        if application.rejection_reason_id:
            context["rejection_reason"] = application.rejection_reason.candidate_text
        context["feedback"] = shareable_feedback(application)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(context.get(key), dict):
            context[key] = {**context[key], **value}
        else:
            context[key] = value
    return context
