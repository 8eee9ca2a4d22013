"""Writes of consent: the ledger row and the current state always change together."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from crm.audit import audit
from crm.models import ActivityKind, User
from crm.services import ServiceError, activity_record

from .models import (
    DEFAULT_FREQUENCY,
    Action,
    ConsentEvidence,
    ConsentPurpose,
    ConsentRecord,
    ConsentState,
    ConsentText,
    Frequency,
    PurposeKey,
    Source,
    State,
)

DEFAULT_TEXTS = {
    "en": {
        PurposeKey.TALENT_POOL: "I agree that {org} keeps my profile and application history to contact me about "
                                "future jobs. I can withdraw at any time.",
        PurposeKey.JOB_OFFERS: "Send me job offers that match my profile.",
        PurposeKey.EVENTS: "Invite me to {org}'s events and meet-ups.",
        PurposeKey.COMPANY_NEWS: "Send me news about {org}.",
        PurposeKey.TESTIMONIALS: "Send me stories from people who work at {org}.",
        PurposeKey.JOB_MARKET: "Send me information about the job market in my field.",
    },
    "fr": {
        PurposeKey.TALENT_POOL: "J'accepte que {org} conserve mon profil et l'historique de mes candidatures pour "
                                "me contacter au sujet de futurs postes. Je peux retirer mon accord à tout moment.",
        PurposeKey.JOB_OFFERS: "Envoyez-moi des offres d'emploi correspondant à mon profil.",
        PurposeKey.EVENTS: "Invitez-moi aux événements et rencontres de {org}.",
        PurposeKey.COMPANY_NEWS: "Envoyez-moi les actualités de {org}.",
        PurposeKey.TESTIMONIALS: "Envoyez-moi des témoignages de personnes qui travaillent chez {org}.",
        PurposeKey.JOB_MARKET: "Envoyez-moi des informations sur le marché de l'emploi dans mon domaine.",
    },
}
GRANTING = {Action.CONFIRMED, Action.RENEWED}


def purposes_create_defaults(organization):
    for position, key in enumerate(PurposeKey.values):
        purpose, _ = ConsentPurpose.all_tenants.get_or_create(organization=organization, key=key,
                                                              defaults={"position": position})
        for language, texts in DEFAULT_TEXTS.items():
            ConsentText.all_tenants.get_or_create(
                organization=organization, purpose=purpose, language=language, version=1,
                defaults={"text": texts[key].format(org=organization.name)})


def current_text(purpose, language):
    texts = ConsentText.objects.filter(purpose=purpose).order_by("-version")
    return texts.filter(language=language).first() or texts.filter(language="en").first() or texts.first()


def expiry_from(organization, moment):
    return moment + timedelta(days=round(30.44 * organization.retention_months))


@transaction.atomic
def record(*, candidate, purpose, action, source, frequency="", actor=None, text=None, ip_address=None,
           user_agent="", note="", now=None):
    """Append a ledger row and move the candidate's current state for `purpose` in the same transaction."""
    now = now or timezone.now()
    if frequency and frequency not in Frequency.values:
        raise ServiceError("Choose weekly, monthly or quarterly.", field="frequency")
    if purpose.is_topic and action in GRANTING and not frequency:
        frequency = DEFAULT_FREQUENCY.get(purpose.key, Frequency.MONTHLY)
    entry = ConsentRecord.objects.create(
        organization_id=candidate.organization_id, candidate=candidate, purpose=purpose, action=action,
        text=text or (current_text(purpose, candidate.language or "en") if action in GRANTING | {Action.REQUESTED}
                      else None),
        frequency=frequency, source=source, acting_user=actor if isinstance(actor, User) else None, created_at=now,
    )
    if ip_address or user_agent or note:
        ConsentEvidence.objects.create(organization_id=candidate.organization_id, record=entry,
                                       ip_address=ip_address, user_agent=user_agent[:300], note=note)
    state = ConsentState.objects.select_for_update().filter(candidate=candidate, purpose=purpose).first()
    if state is None:
        state = ConsentState(organization_id=candidate.organization_id, candidate=candidate, purpose=purpose,
                             state=State.PENDING)
    if action in GRANTING:
        state.state = State.GRANTED
        state.granted_at = now
        state.expires_at = expiry_from(candidate.organization, now)
        state.frequency = frequency
    elif action == Action.REQUESTED:
        if state.state != State.GRANTED:
            state.state = State.PENDING
    elif action == Action.WITHDRAWN:
        state.state = State.WITHDRAWN
        state.expires_at = None
    elif action == Action.EXPIRED:
        state.state = State.EXPIRED
    elif action == Action.FREQUENCY_CHANGED:
        state.frequency = frequency
    state.updated_at = now
    state.save()
    return entry


@transaction.atomic
def record_on_behalf(*, candidate, grants, note, actor):
    """A recruiter records consent given by phone or in person; the evidence note is required.

    `grants` maps purpose keys to a frequency (or "" for the talent pool).
    """
    note = (note or "").strip()
    if not note:
        raise ServiceError("Say how, when and where the candidate agreed.", field="note")
    if not grants:
        raise ServiceError("Choose at least one purpose.", field="purposes")
    purposes = {p.key: p for p in ConsentPurpose.objects.filter(key__in=list(grants), active=True)}
    unknown = set(grants) - set(purposes)
    if unknown:
        raise ServiceError(f"Unknown purposes: {', '.join(sorted(unknown))}.", field="purposes")
    entries = [record(candidate=candidate, purpose=purposes[key], action=Action.CONFIRMED, source=Source.RECRUITER,
                      frequency=frequency, actor=actor, note=note) for key, frequency in grants.items()]
    activity_record(candidate=candidate, kind=ActivityKind.CONSENT, actor=actor,
                    summary=f"Consent recorded by {getattr(actor, 'email', 'the API')}: "
                            + ", ".join(str(purposes[k]) for k in grants))
    audit("consent.recorded_on_behalf", actor=actor, obj=candidate, details={"purposes": sorted(grants)})
    return entries


@transaction.atomic
def withdraw_marketing(*, candidate, source, actor=None):
    """Withdraw every marketing topic the candidate has granted or asked for (e.g. after a complaint)."""
    states = ConsentState.objects.filter(candidate=candidate, state__in=[State.GRANTED, State.PENDING]).select_related(
        "purpose")
    withdrawn = []
    for state in states:
        if state.purpose.is_topic:
            record(candidate=candidate, purpose=state.purpose, action=Action.WITHDRAWN, source=source, actor=actor)
            withdrawn.append(state.purpose.key)
    return withdrawn
