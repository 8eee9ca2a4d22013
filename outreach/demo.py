"""Demo consents and campaigns for the development organization."""

import random
from datetime import timedelta

from django.utils import timezone

from consent.models import Action, ConsentPurpose, Source
from consent.services import record
from crm.models import Candidate

from .campaigns import campaign_save
from .models import Campaign, EmailTemplate


def seed_campaigns(organization, *, recruiter, seed=5):
    if Campaign.objects.exists():
        return 0
    from talentpools.models import TalentPool

    rng = random.Random(seed)
    purposes = {p.key: p for p in ConsentPurpose.objects.all()}
    for candidate in Candidate.objects.filter(do_not_contact=False).order_by("id"):
        if rng.random() < 0.45:
            source = rng.choice([Source.PUBLIC_FORM, Source.REJECTION_LINK, Source.RECRUITER])
            record(candidate=candidate, purpose=purposes["talent_pool"], action=Action.CONFIRMED, source=source)
            for topic, share in (("job_offers", 0.8), ("events", 0.4), ("company_news", 0.3)):
                if rng.random() < share:
                    record(candidate=candidate, purpose=purposes[topic], action=Action.CONFIRMED, source=source,
                           frequency=rng.choice(["weekly", "monthly", "quarterly"]))
    pools = {p.name: p for p in TalentPool.objects.all()}
    templates = {t.kind: t for t in EmailTemplate.objects.filter(language="en", active=True)}
    if "Senior Python, interviewed before" in pools and "job_offers_digest" in templates:
        campaign_save(actor=recruiter, name="Backend jobs for our Python alumni", topic="job_offers",
                      pool_ids=[pools["Senior Python, interviewed before"].pk],
                      template=templates["job_offers_digest"], max_jobs=3)
    if "Robotics meetup shortlist" in pools and "event_invitation" in templates:
        campaign_save(actor=recruiter, name="Robotics evening at the Paris office", topic="events",
                      pool_ids=[pools["Robotics meetup shortlist"].pk], template=templates["event_invitation"],
                      event_name="Robotics evening", event_starts_at=timezone.now() + timedelta(days=21),
                      event_place="12 rue de la Paix, Paris", referral=True)
    return Campaign.objects.count()
