"""Campaigns under random populations and random interleavings of launches, beat ticks, sends, withdrawals
and the passing of time: no email ever reaches someone the marketing rule (DESIGN: who may be emailed) keeps
out, nobody gets two from one run, and nobody eligible is silently dropped.

The expected answers come from a model kept by the test from the generated facts alone; the product's
eligibility functions are never asked.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from consent.models import Action, ConsentPurpose, ConsentState, Source
from consent.services import record
from crm.models import Candidate, Organization
from crm.services import job_save
from outreach import campaigns, dispatch
from outreach.models import CampaignRun, EmailTemplate, Message
from outreach.tasks import run_due_campaigns
from talentpools.services import pool_add_members, pool_create

from ..factories import CandidateFactory

# The frequencies a candidate may choose, in days (a send less than this long ago holds the next one back).
FREQUENCY_DAYS = {"weekly": 7, "monthly": 30, "quarterly": 91}
TEMPLATE_KIND = {"job_offers": "job_offers_digest", "company_news": "company_news"}
OTHER_TOPIC = "events"

# Every generated moment is a whole number of days plus .25 (facts) or plus .3 per shift of time, so that
# no comparison with a whole number of days is ever closer than an hour: the seconds a test takes never
# decide an outcome.


@dataclass
class Person:
    consent: str  # for the campaign's topic: none, granted, pending, withdrawn, expired (the ledger says so)
    expires_in: float  # days from the start, for granted consent (negative: granted but expired)
    frequency: str
    do_not_contact: bool
    email_status: str
    in_pool: bool
    history: list  # (what, days ago): earlier emails, "same" topic, "other" topic or "transactional"


# The first value of each choice is the usual one (hypothesis starts from, and simplifies towards, it).
PEOPLE = st.lists(st.builds(
    Person,
    consent=st.sampled_from(["granted"] * 8 + ["none", "pending", "withdrawn", "expired"]),
    expires_in=st.sampled_from([400.25] * 5 + [35.25, 3.25, 0.25, -0.75, -30.75]),
    frequency=st.sampled_from(list(FREQUENCY_DAYS)),
    do_not_contact=st.sampled_from([False] * 7 + [True]),
    email_status=st.sampled_from(["valid"] * 8 + ["bounced", "complained"]),
    in_pool=st.sampled_from([True] * 7 + [False]),
    history=st.lists(st.tuples(st.sampled_from(["same", "other", "transactional"]),
                               st.sampled_from([200, 92, 90, 60, 31, 29, 20, 8, 6, 3, 0])), max_size=2),
), min_size=3, max_size=8)

# Repeated branches weigh more: launches and sends make the interesting interleavings.
ACTIONS = st.lists(st.one_of(
    st.just(("launch",)), st.just(("launch",)),  # a new campaign launched; its run starts and is prepared at once
    st.just(("launch_quietly",)),  # a new campaign launched; its run waits for the next beat tick
    st.just(("launch_again",)),  # the last campaign launched again (double click, second tab)
    st.just(("due_twice",)),  # two beat ticks (run_due_campaigns) in a row
    st.just(("send",)), st.just(("send",)),  # a sender claims and sends whatever is due
    st.tuples(st.just("withdraw"), st.integers(0, 7)),  # someone withdraws their consent for the topic
    st.tuples(st.just("time_passes"), st.sampled_from([1.3, 6.3, 8.3, 29.3, 31.3, 92.3])),
), min_size=2, max_size=6).map(
    lambda actions: actions if any(a[0].startswith("launch") for a in actions) else [("launch",), *actions])


@pytest.fixture
def stage(tenant_a, monkeypatch):
    """What every example shares (each example's own rows are rolled back): a static pool, an open Python job,
    a send rate no example reaches, and senders that wait for the test to call them."""
    from outreach import services

    monkeypatch.setattr(services, "nudge_dispatch", lambda: None)
    Organization.objects.filter(pk=tenant_a.organization.pk).update(campaign_rate_per_minute=60_000)
    with tenant_a.scope():
        job_save(actor=tenant_a.recruiter, title="Django developer", status="open", required_skills=["python"])
        pool = pool_create(name="Everyone", kind="static", actor=tenant_a.recruiter)
    return {"tenant": tenant_a, "pool": pool}


@dataclass
class Model:
    """The test's own account of the world: the facts, what happened since, and the marketing rule over them."""

    people: list
    topic: str
    cap_days: int
    now: float = 0.0  # days since the example started
    withdrawn: set = field(default_factory=set)
    sends: dict = field(default_factory=dict)  # person -> [(moment, "same" | "other" | "transactional")]

    def __post_init__(self):
        self.sends = {i: [(-(days + 0.25), what) for what, days in p.history] for i, p in enumerate(self.people)}

    def reason(self, i):
        """Why person i may get no campaign email now (the first reason that applies), or None."""
        p = self.people[i]
        if p.do_not_contact:
            return "do_not_contact"
        if p.email_status != "valid":
            return "undeliverable"
        state = "withdrawn" if i in self.withdrawn else p.consent
        if state == "granted" and p.expires_in > self.now:
            marketing = [(when, what) for when, what in self.sends[i] if what in ("same", "other")]
            if any(what == "same" and self.now - when < FREQUENCY_DAYS[p.frequency] for when, what in marketing):
                return "frequency"
            if any(self.now - when < self.cap_days for when, _ in marketing):
                return "cap"
            return None
        if state in ("granted", "expired"):
            return "consent_expired"
        return "no_consent"

    def audience(self):
        return [i for i, p in enumerate(self.people) if p.in_pool]


class Example:
    def __init__(self, stage, capture, topic, cap_days, people):
        self.tenant = stage["tenant"]
        self.pool = stage["pool"]
        self.capture = capture
        self.model = Model(people=people, topic=topic, cap_days=cap_days)
        self.start = timezone.now()
        self.campaigns = []
        self.expected = {}  # run id -> (who is queued, {reason: count})
        self.emails = []  # (run id, person) of every email sent
        self.purpose = ConsentPurpose.objects.get(key=topic)
        self.template = EmailTemplate.objects.get(kind=TEMPLATE_KIND[topic], language="en", active=True)
        Organization.objects.filter(pk=self.tenant.organization.pk).update(marketing_cap_days=cap_days)
        self.candidates = []
        for i, p in enumerate(people):
            candidate = CandidateFactory(organization=self.tenant.organization, email=f"p{i}@prop.test",
                                         skills=["python"])
            self._consent(candidate, p)
            Candidate.objects.filter(pk=candidate.pk).update(do_not_contact=p.do_not_contact,
                                                             email_status=p.email_status)
            for n, (what, days) in enumerate(p.history):
                Message.objects.create(
                    organization_id=candidate.organization_id, unique_key=f"history:{candidate.pk}:{n}",
                    candidate=candidate, to_email=candidate.email, status="sent",
                    kind="generic" if what == "transactional" else "company_news",
                    purpose="transactional" if what == "transactional" else "marketing",
                    topic={"same": topic, "other": OTHER_TOPIC, "transactional": ""}[what],
                    sent_at=self.start - timedelta(days=days + 0.25))
            self.candidates.append(candidate)
        self.person = {c.pk: i for i, c in enumerate(self.candidates)}
        members = [c.pk for i, c in enumerate(self.candidates) if people[i].in_pool]
        pool_add_members(pool=self.pool, candidate_ids=members, actor=self.tenant.recruiter)

    def _consent(self, candidate, p):
        def note(action):
            record(candidate=candidate, purpose=self.purpose, action=action, source=Source.RECRUITER,
                   frequency=p.frequency if action == Action.CONFIRMED else "")

        if p.consent == "none":
            return
        if p.consent == "pending":
            note(Action.REQUESTED)
            return
        note(Action.CONFIRMED)
        if p.consent == "granted":
            ConsentState.objects.filter(candidate=candidate, purpose=self.purpose).update(
                expires_at=self.start + timedelta(days=p.expires_in))
        elif p.consent == "withdrawn":
            note(Action.WITHDRAWN)
        elif p.consent == "expired":
            note(Action.EXPIRED)

    @property
    def topic(self):
        return self.model.topic

    # --- The actions ---------------------------------------------------------------------------

    def _new_campaign(self):
        campaign = campaigns.campaign_save(actor=self.tenant.recruiter, name=f"Campaign {len(self.campaigns)}",
                                           topic=self.topic, pool_ids=[self.pool.pk], template=self.template)
        self.campaigns.append(campaign)
        return campaign

    def launch(self):
        campaign = self._new_campaign()
        with self.capture(execute=True):
            assert campaigns.campaign_launch(campaign=campaign, actor=self.tenant.recruiter)[1]

    def launch_quietly(self):
        campaign = self._new_campaign()
        assert campaigns.campaign_launch(campaign=campaign, actor=self.tenant.recruiter)[1]

    def launch_again(self):
        if not self.campaigns:
            return self.launch()
        with self.capture(execute=True):
            assert not campaigns.campaign_launch(campaign=self.campaigns[-1], actor=self.tenant.recruiter)[1]

    def tick(self):
        with self.capture(execute=True):
            run_due_campaigns()

    def due_twice(self):
        self.tick()
        self.tick()

    def withdraw(self, n):
        i = n % len(self.candidates)
        if Message.objects.filter(candidate=self.candidates[i], campaign_run__isnull=False, status="queued").exists():
            event("a withdrawal between a run's preparation and its send")
        record(candidate=self.candidates[i], purpose=self.purpose, action=Action.WITHDRAWN,
               source=Source.UNSUBSCRIBE_LINK)
        self.model.withdrawn.add(i)

    def time_passes(self, days):
        """Everything that happened moves `days` into the past, and consents come that much closer to expiry."""
        Message.objects.filter(sent_at__isnull=False).update(sent_at=F("sent_at") - timedelta(days=days))
        ConsentState.objects.filter(expires_at__isnull=False).update(expires_at=F("expires_at") - timedelta(days=days))
        self.model.now += days

    def send(self):
        """Send what is due in this thread; check each email against the model at the moment it went."""
        due = dict(Message.objects.filter(campaign_run__isnull=False, status="queued").values_list(
            "pk", "candidate_id"))
        may_before = {i for i in range(len(self.candidates)) if self.model.reason(i) is None}
        before = len(mail.outbox)
        while ids := dispatch.claim_due():
            dispatch.send_batch(ids)
        got = set()
        for email in mail.outbox[before:]:
            message = Message.objects.get(pk=int(email.metadata["silverpool_message"]))
            i = self.person[message.candidate_id]
            p = self.model.people[i]
            assert email.to == [self.candidates[i].email]
            assert message.campaign_run_id in self.expected, "an email from a run that was never prepared"
            reason = self.model.reason(i)
            assert reason is None and p.in_pool, (
                f"person {i} ({p}) got an email while the rule says {reason or 'not in the audience'} "
                f"(withdrawn: {sorted(self.model.withdrawn)}, day {self.model.now})")
            assert message.status == "sent"
            assert email.extra_headers["List-Unsubscribe"].startswith("<http")
            assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            self.model.sends[i].append((self.model.now, "same"))
            self.emails.append((message.campaign_run_id, i))
            got.add(i)
        outcomes = dict(Message.objects.filter(pk__in=due).values_list("pk", "status"))
        for pk, candidate_id in due.items():
            i = self.person[candidate_id]
            assert outcomes[pk] in ("sent", "suppressed"), f"message {pk} left {outcomes[pk]} after the sender ran"
            if i in may_before:
                # Still eligible when the sender started: this email, or another one just before it, went.
                assert i in got, f"person {i} was eligible and queued, yet got nothing ({self.model.people[i]})"

    # --- Checks --------------------------------------------------------------------------------

    def note_prepared_runs(self):
        """Runs prepared by the last action: who the model says they must queue, and why the others are out."""
        for run_id in CampaignRun.objects.filter(prepared_at__isnull=False).exclude(
                pk__in=list(self.expected)).values_list("pk", flat=True):
            reasons = {i: self.model.reason(i) for i in self.model.audience()}
            self.expected[run_id] = ({i for i, r in reasons.items() if r is None},
                                     Counter(r for r in reasons.values() if r is not None))

    def play(self, actions):
        for action in actions:
            getattr(self, action[0])(*action[1:])
            self.note_prepared_runs()
        # The beat and a sender catch up; then everything has an outcome and the next tick closes every run.
        self.tick()
        self.note_prepared_runs()
        self.send()
        self.tick()
        self.check()

    def check(self):
        runs = list(CampaignRun.objects.all())
        assert len(runs) == len(self.campaigns), "one run per launched campaign, whatever the double launches"
        assert {run.pk for run in runs} == set(self.expected), "a run was never prepared"
        for run in runs:
            queued, excluded = self.expected[run.pk]
            rows = list(Message.objects.filter(campaign_run=run).values_list("candidate_id", flat=True))
            assert sorted(self.person[c] for c in rows) == sorted(queued), f"run {run.pk} queued the wrong people"
            assert run.queued == len(queued) and run.audience == len(self.model.audience())
            assert run.excluded == dict(excluded)
            assert run.status == "done"
        # Nobody got two emails from one run.
        assert not [key for key, n in Counter(self.emails).items() if n > 1], self.emails
        sent = Message.objects.filter(campaign_run__isnull=False, status="sent")
        assert sent.count() == len(self.emails) == len(mail.outbox)
        assert not Message.objects.filter(campaign_run__isnull=False, status__in=["queued", "sending", "held"]).exists()
        suppressed = Message.objects.filter(campaign_run__isnull=False, status="suppressed").count()
        event(f"emails sent: {min(len(self.emails), 3)} (3: or more); held back at send time: {min(suppressed, 2)}")
        if len(self.emails) > len({i for _, i in self.emails}):
            event("someone got a second email after time passed")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(topic=st.sampled_from(list(TEMPLATE_KIND)), cap_days=st.sampled_from([1, 7, 30]), people=PEOPLE,
       actions=ACTIONS)
def test_no_email_ever_goes_to_an_ineligible_candidate_and_none_twice(stage, django_capture_on_commit_callbacks,
                                                                       topic, cap_days, people, actions):
    with stage["tenant"].scope(), transaction.atomic():
        mail.outbox.clear()
        Example(stage, django_capture_on_commit_callbacks, topic, cap_days, people).play(actions)
        transaction.set_rollback(True)  # the next example starts from the shared stage only
