"""Writes of consent: the ledger row and the current state always change together."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from crm.audit import audit
from crm.links import site_link
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
def withdraw_marketing(*, candidate, source, actor=None, note=""):
    """Withdraw every marketing topic the candidate has granted or asked for (e.g. after a complaint)."""
    states = ConsentState.objects.filter(candidate=candidate, state__in=[State.GRANTED, State.PENDING]).select_related(
        "purpose")
    withdrawn = []
    for state in states:
        if state.purpose.is_topic:
            record(candidate=candidate, purpose=state.purpose, action=Action.WITHDRAWN, source=source, actor=actor,
                   note=note)
            withdrawn.append(state.purpose.key)
    return withdrawn


# --- Public opt-in (double opt-in) ----------------------------------------------------------

# The words a person reads about their own choices (the confirmation email and pages); other languages use English.
CHOICE_WORDS = {
    "en": {PurposeKey.TALENT_POOL: "Keep my profile for future jobs", PurposeKey.JOB_OFFERS: "Job offers",
           PurposeKey.EVENTS: "Events and meet-ups", PurposeKey.COMPANY_NEWS: "Company news",
           PurposeKey.TESTIMONIALS: "Employee testimonials", PurposeKey.JOB_MARKET: "Job-market information",
           Frequency.WEEKLY: "weekly", Frequency.MONTHLY: "monthly", Frequency.QUARTERLY: "quarterly",
           "heading": "You asked for:"},
    "fr": {PurposeKey.TALENT_POOL: "Conserver mon profil pour de futurs postes", PurposeKey.JOB_OFFERS: "Offres d'emploi",
           PurposeKey.EVENTS: "Événements et rencontres", PurposeKey.COMPANY_NEWS: "Actualités de l'entreprise",
           PurposeKey.TESTIMONIALS: "Témoignages de salariés", PurposeKey.JOB_MARKET: "Informations sur le marché de l'emploi",
           Frequency.WEEKLY: "chaque semaine", Frequency.MONTHLY: "chaque mois", Frequency.QUARTERLY: "chaque trimestre",
           "heading": "Vous avez demandé :"},
}


def chosen_list(consents, language="en"):
    """What a join request asked for, in the person's words: [{"topic", "frequency"}], the talent pool first.

    `consents` maps purpose keys to a frequency ("" for the talent pool); unknown keys are left out."""
    words = CHOICE_WORDS.get(language, CHOICE_WORDS["en"])
    return [{"topic": words[key], "frequency": words.get(consents[key], "") if consents[key] else ""}
            for key in PurposeKey.values if key in (consents or {})]


def opt_in_request(*, organization, data, source, ip_address=None, user_agent="", referrer=None):
    """Keep the request and email a confirmation link; nothing counts until it is followed.

    `referrer` is the candidate whose referral link brought the person, if any.
    """

    from outreach.services import queue_email, template_for

    from .models import PendingOptIn
    from .tokens import confirm_token

    email = data["email"].strip().lower()
    if referrer is not None:
        data = {**data, "referrer_id": referrer.pk}
    pending = PendingOptIn.objects.create(organization_id=organization.pk, email=email, data=data, source=source,
                                          ip_address=ip_address, user_agent=(user_agent or "")[:300])
    from crm.models import Candidate

    candidate = Candidate.objects.filter(email__iexact=email).first()
    language = data.get("language") or (candidate.language if candidate else "") or organization.default_language
    link = site_link("consent:confirm", token=confirm_token(pending))
    queue_email(unique_key=f"consent_confirmation:{pending.pk}", kind="consent_confirmation", to_email=email,
                candidate=candidate, template=template_for("consent_confirmation", language, organization),
                language=language, organization_id=organization.pk,
                context={"links": {"confirm": link},
                         "fields": {"candidate": {"first_name": data.get("first_name", ""),
                                                  "last_name": data.get("last_name", "")},
                                    # Listed above the confirmation link whatever the template (outreach.rendering).
                                    "chosen": {"heading": CHOICE_WORDS.get(language, CHOICE_WORDS["en"])["heading"],
                                               "items": chosen_list(data.get("consents", {}), language)}}})
    return pending


@transaction.atomic
def opt_in_confirm(*, pending, ip_address=None, user_agent=""):
    """Apply a confirmed join request: the profile, the ledger rows, and the lifting of a suppression."""
    from crm.models import Candidate
    from crm.models import Source as CandidateSource
    from crm.services import candidate_create, candidate_update, suppression_lift

    from .models import PendingOptIn

    pending = PendingOptIn.objects.select_for_update().get(pk=pending.pk)
    if pending.confirmed_at is not None:
        raise ServiceError("This link has been used already.")
    data = pending.data
    if suppression_lift(email=pending.email):
        # The person asked to come back themselves: allowed, and recorded.
        audit("suppression.lifted_by_opt_in", actor=None, details={"pending_opt_in": pending.pk})
    profile = {k: data[k] for k in ("first_name", "last_name", "headline", "skills", "linkedin_url", "language")
               if data.get(k)}
    candidate = Candidate.objects.filter(email__iexact=pending.email).first()
    if candidate is None:
        referred = bool(data.get("referrer_id"))
        candidate = candidate_create(actor=None, email=pending.email, **profile,
                                     source=CandidateSource.REFERRAL if referred else CandidateSource.PUBLIC_FORM)
        referrer = Candidate.objects.filter(pk=data["referrer_id"]).first() if referred else None
        if referrer is not None:
            # Both ids in both lines, so that erasing either person can find them.
            link = {"referrer_id": referrer.pk, "referred_id": candidate.pk}
            activity_record(candidate=candidate, kind=ActivityKind.NOTE, summary=f"Referred by {referrer.full_name}",
                            details=link)
            activity_record(candidate=referrer, kind=ActivityKind.NOTE, summary=f"Referred {candidate.full_name}",
                            details=link)
    else:
        candidate, _ = candidate_update(candidate=candidate, actor=None, data=profile)
    purposes = {p.key: p for p in ConsentPurpose.objects.filter(active=True)}
    source = pending.source
    for key, frequency in data.get("consents", {}).items():
        purpose = purposes.get(key)
        if purpose is None:
            continue
        record(candidate=candidate, purpose=purpose, action=Action.REQUESTED, source=source, frequency=frequency,
               ip_address=pending.ip_address, user_agent=pending.user_agent, now=pending.created_at)
        record(candidate=candidate, purpose=purpose, action=Action.CONFIRMED, source=source, frequency=frequency,
               ip_address=ip_address, user_agent=user_agent)
    activity_record(candidate=candidate, kind=ActivityKind.CONSENT, actor=None,
                    summary="Opted in to stay in touch: " + ", ".join(
                        str(purposes[k]) for k in data.get("consents", {}) if k in purposes))
    pending.confirmed_at = timezone.now()
    pending.save(update_fields=["confirmed_at"])
    return candidate


@transaction.atomic
def unsubscribe(*, candidate, topic_key, source=Source.UNSUBSCRIBE_LINK, note=""):
    """One click: the topic (or every topic with topic_key None) is withdrawn at once.

    `note` says where the request came from when it is not the person's click (e.g. which email provider).
    """
    if topic_key is None:
        return withdraw_marketing(candidate=candidate, source=source, note=note)
    state = ConsentState.objects.filter(candidate=candidate, purpose__key=topic_key,
                                        state__in=[State.GRANTED, State.PENDING]).select_related("purpose").first()
    if state is None:
        return []
    record(candidate=candidate, purpose=state.purpose, action=Action.WITHDRAWN, source=source, note=note)
    activity_record(candidate=candidate, kind=ActivityKind.CONSENT, actor=None,
                    summary=f"Unsubscribed from {state.purpose}")
    return [topic_key]


def in_force(state, now):
    """Granted and not past its expiry: what the marketing rule counts as consent."""
    return state is not None and state.state == State.GRANTED and (state.expires_at is None or state.expires_at > now)


@transaction.atomic
def preferences_update(*, candidate, topics=None, talent_pool=None, ip_address=None, user_agent="", now=None):
    """The preference centre, reached through the person's own signed link (which proves the address is theirs).

    `topics` maps topic keys to a frequency, which turns the topic on (a new, withdrawn or expired one is granted
    again) or changes how often, or to "" to stop it; topics left out do not change. `talent_pool` True keeps the
    profile for future jobs (granting that consent if it is not valid now), False withdraws it, None leaves it.
    Every change is a ledger row with source "preference centre". Returns the keys that changed.
    """
    now = now or timezone.now()
    topics = dict(topics or {})
    purposes = {p.key: p for p in ConsentPurpose.objects.filter(active=True)}
    unknown = sorted(k for k in topics if k not in purposes or not purposes[k].is_topic)
    if unknown:
        raise ServiceError(f"Unknown topics: {', '.join(unknown)}.", field="topics")
    bad = sorted(k for k, v in topics.items() if v not in ("", *Frequency.values))
    if bad:
        raise ServiceError("Choose weekly, monthly or quarterly, or no emails.", field=f"frequency_{bad[0]}")
    wanted = {**topics}
    if talent_pool is not None and PurposeKey.TALENT_POOL in purposes:
        wanted[PurposeKey.TALENT_POOL] = talent_pool
    states = {s.purpose.key: s for s in ConsentState.objects.select_for_update().filter(
        candidate=candidate, purpose__key__in=list(wanted)).select_related("purpose")}
    evidence = {"ip_address": ip_address, "user_agent": user_agent or ""}
    changed = []
    for key, value in wanted.items():
        purpose, state = purposes[key], states.get(key)
        if value == "" or value is False:
            if in_force(state, now):
                record(candidate=candidate, purpose=purpose, action=Action.WITHDRAWN, source=Source.PREFERENCE_CENTRE,
                       now=now, **evidence)
                changed.append(key)
        elif not in_force(state, now):
            record(candidate=candidate, purpose=purpose, action=Action.CONFIRMED, source=Source.PREFERENCE_CENTRE,
                   frequency=value if purpose.is_topic else "", now=now, **evidence)
            changed.append(key)
        elif purpose.is_topic and value != state.frequency:
            record(candidate=candidate, purpose=purpose, action=Action.FREQUENCY_CHANGED,
                   source=Source.PREFERENCE_CENTRE, frequency=value, now=now, **evidence)
            changed.append(key)
    if changed:
        activity_record(candidate=candidate, kind=ActivityKind.CONSENT, actor=None,
                        summary="Changed email preferences: " + ", ".join(str(purposes[k]) for k in changed))
    return changed


@transaction.atomic
def stop_every_email(*, candidate, source, ip_address=None, user_agent="", note=""):
    """What "Stop every email" does: every topic AND the talent-pool consent are withdrawn, so no campaign of any topic,
    re-engagement check-ins included, can reach the person. Emails about their own requests (an application,
    a data copy, a new opt-in's confirmation) are not marketing and still go. Returns the withdrawn keys."""
    withdrawn = []
    for state in ConsentState.objects.select_for_update().filter(
            candidate=candidate, state__in=[State.GRANTED, State.PENDING]).select_related("purpose"):
        record(candidate=candidate, purpose=state.purpose, action=Action.WITHDRAWN, source=source,
               ip_address=ip_address, user_agent=user_agent, note=note)
        withdrawn.append(state.purpose.key)
    if withdrawn:
        activity_record(candidate=candidate, kind=ActivityKind.CONSENT, actor=None,
                        summary="Stopped every email (every topic and the talent pool withdrawn)")
    return withdrawn


@transaction.atomic
def renew_all(*, candidate):
    """The candidate keeps every consent they hold for another retention period."""
    renewed = []
    for state in ConsentState.objects.filter(candidate=candidate, state__in=[State.GRANTED, State.EXPIRED]
                                             ).select_related("purpose"):
        record(candidate=candidate, purpose=state.purpose, action=Action.RENEWED, source=Source.PREFERENCE_CENTRE,
               frequency=state.frequency)
        renewed.append(state.purpose.key)
    if renewed:
        activity_record(candidate=candidate, kind=ActivityKind.CONSENT, actor=None, summary="Renewed consent")
    return renewed


@transaction.atomic
def text_new_version(*, purpose, language, text, actor, ask_renewal=False):
    """A new version of a consent text; old versions stay as they were, pointed at by the ledger."""
    text = (text or "").strip()
    if not text:
        raise ServiceError("Write the text candidates will agree to.", field="text")
    latest = ConsentText.objects.filter(purpose=purpose, language=language).order_by("-version").first()
    renewal = bool(ask_renewal and purpose.key == PurposeKey.TALENT_POOL)
    version = ConsentText.objects.create(organization_id=purpose.organization_id, purpose=purpose, language=language,
                                         version=(latest.version + 1) if latest else 1, text=text, created_by=actor,
                                         renewal_pending=renewal)
    audit("consent.text_versioned", actor=actor, obj=purpose, details={"language": language,
                                                                       "version": version.version})
    if renewal:
        from crm.tasks import nudge_on_commit

        from .tasks import ask_renewal_after_text_change

        # The pending flag is the record; a nudge lost with the broker is repeated by the beat.
        nudge_on_commit(ask_renewal_after_text_change, organization_id=purpose.organization_id, text_id=version.pk)
    return version


def send_data_copy(*, candidate):
    """Email the candidate a link to everything held about them (the link works for 7 days)."""
    import uuid

    from crm.audit import audit as audit_event
    from outreach.services import queue_email, template_for

    from .tokens import make

    organization = candidate.organization
    link = site_link("consent:data_copy", token=make("copy", o=organization.pk, c=candidate.pk))
    language = candidate.language or organization.default_language
    queue_email(unique_key=f"data_export:{candidate.pk}:{uuid.uuid4().hex}", kind="data_export_ready",
                to_email=candidate.email, candidate=candidate,
                template=template_for("data_export_ready", language, organization), language=language,
                context={"links": {"preferences": link}})
    audit_event("candidate.export_requested", actor=None, obj=candidate)
