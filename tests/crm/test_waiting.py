"""The waiting list is a to-do list: only what the team still owes, each row with its action, worked to empty."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.models import Application, RejectionReason, Stage
from crm.services import application_advance, application_create, application_reject, job_save
from outreach.models import Message

from ..factories import CandidateFactory


def waiting_page(tenant, query=""):
    answer = tenant.recruiter_client.get(f"/o/{tenant.slug}/applications/waiting/{query}")
    assert answer.status_code == 200
    return answer.content.decode()


def dashboard_counts(tenant):
    page = tenant.recruiter_client.get(f"/o/{tenant.slug}/").content.decode()
    owed = re.search(r'data-testid="owed-count">([^<]+)<', page).group(1)
    quiet = re.search(r'data-testid="quiet-count">([^<]+)<', page).group(1)
    return int(owed), int(quiet)


def rows(page, kind):
    return {int(pk) for pk in re.findall(rf'data-testid="{kind}-(\d+)"', page)}


@pytest.fixture
def desk(tenant_a):
    """One application in each state the waiting list must tell apart."""
    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="Robotics engineer", status="open")
        reason = RejectionReason.objects.first()

        def application(name, stage=Stage.APPLIED):
            candidate = CandidateFactory(organization=tenant_a.organization, first_name=name)
            created = application_create(actor=tenant_a.recruiter, candidate=candidate, job=job)
            if stage != Stage.APPLIED:
                created = application_advance(application=created, to_stage=stage, actor=tenant_a.recruiter)
            return created

        def reject(app, **plan):
            return application_reject(application=app, reason=reason, actor=tenant_a.recruiter, **plan)

        apps = {
            "queued": reject(application("Queued")),  # planned for the next working morning
            "review": reject(application("Review", Stage.INTERVIEW)),  # after an interview: waits for approval
            "no_email": reject(application("Silent"), notice_plan="none", notice_skip_reason="told by phone"),
            "sent": reject(application("Sent"), notice_plan="now"),
            "failed": reject(application("Failed")),
            "missing": reject(application("Missing"), notice_plan="now"),
            "quiet": application("Quiet", Stage.SCREENING),
            "quiet_reject": application("Stalled"),
            "fresh": application("Fresh"),
        }
        Message.objects.filter(application=apps["sent"]).update(status="sent", sent_at=timezone.now())
        Message.objects.filter(application=apps["failed"]).update(status="failed", status_reason="550 refused")
        Message.objects.filter(application=apps["missing"]).delete()  # as a decision before notices existed
        long_ago = timezone.now() - timedelta(days=40)
        Application.objects.filter(pk__in=[apps["quiet"].pk, apps["quiet_reject"].pk]).update(moved_at=long_ago)
    return {name: Application.all_tenants.get(pk=a.pk) for name, a in apps.items()}


def test_only_what_is_still_owed_is_listed_and_the_dashboard_counts_the_same(tenant_a, desk):
    page = waiting_page(tenant_a)
    owed = {desk[name].pk for name in ("review", "failed", "missing")}
    quiet = {desk[name].pk for name in ("quiet", "quiet_reject")}
    assert rows(page, "owed") == owed  # neither sent, queued, nor "no email" with a reason
    assert rows(page, "quiet") == quiet
    assert dashboard_counts(tenant_a) == (3, 2)
    assert "Review and approve" in page and "How were they told?" in page and "Plan the notice" in page


def test_sending_a_notice_lowers_the_count(tenant_a, desk):
    assert dashboard_counts(tenant_a)[0] == 3
    with tenant_a.scope():
        Message.objects.filter(application=desk["review"]).update(status="delivered", sent_at=timezone.now())
    assert dashboard_counts(tenant_a)[0] == 2
    assert desk["review"].pk not in rows(waiting_page(tenant_a), "owed")


def test_acting_on_every_row_empties_the_list(tenant_a, desk):
    client, slug = tenant_a.recruiter_client, tenant_a.slug
    # Approve the after-interview email in the review queue.
    with tenant_a.scope():
        review = Message.objects.get(application=desk["review"])
    assert client.post(f"/o/{slug}/outbox/review/{review.pk}/approve/", {}).status_code == 302
    # The failed email: the candidate was told another way, and that is recorded.
    answer = client.post(f"/o/{slug}/applications/{desk['failed'].pk}/notice/",
                         {"version": desk["failed"].version, "notice_plan": "none", "skip_reason": "called her"})
    assert answer.status_code == 302
    # The decision without a notice: plan it now; the email is queued once.
    answer = client.post(f"/o/{slug}/applications/{desk['missing'].pk}/notice/",
                         {"version": desk["missing"].version, "notice_plan": "morning", "skip_reason": ""})
    assert answer.status_code == 302
    # The quiet applications: one moves on, one is rejected from the list.
    answer = client.post(f"/o/{slug}/applications/{desk['quiet'].pk}/move/",
                         {"version": desk["quiet"].version, "stage": "interview", "next": "waiting"})
    assert answer.status_code == 302 and answer["Location"].endswith("/applications/waiting/")
    with tenant_a.scope():
        reason = RejectionReason.objects.first()
    answer = client.post(f"/o/{slug}/applications/{desk['quiet_reject'].pk}/reject/",
                         {"version": desk["quiet_reject"].version, "reason": reason.pk, "send_email": "morning",
                          "next": "waiting"})
    assert answer.status_code == 302 and answer["Location"].endswith("/applications/waiting/")

    page = waiting_page(tenant_a)
    assert rows(page, "owed") == set() and rows(page, "quiet") == set()
    assert "Every candidate has heard of our decision, or it is on its way." in page
    assert "Every open application moved in the last" in page
    assert dashboard_counts(tenant_a) == (0, 0)
    with tenant_a.scope():
        planned = Message.objects.get(application=desk["missing"])
        assert planned.status == "queued" and planned.send_after > timezone.now()
        failed = Application.objects.get(pk=desk["failed"].pk)
        assert (failed.notice_plan, failed.notice_skip_reason) == ("none", "called her")
        assert Message.objects.get(application=desk["failed"]).status == "failed"  # never resent by itself


def test_a_notice_already_in_the_outbox_is_not_planned_twice(tenant_a, desk):
    answer = tenant_a.recruiter_client.post(
        f"/o/{tenant_a.slug}/applications/{desk['failed'].pk}/notice/",
        {"version": desk["failed"].version, "notice_plan": "now", "skip_reason": ""}, follow=True)
    assert "it is not sent twice" in answer.content.decode()
    with tenant_a.scope():
        assert Application.objects.get(pk=desk["failed"].pk).notice_plan == "morning"
    assert desk["failed"].pk in rows(waiting_page(tenant_a), "owed")


def test_the_list_pages_and_refuses_a_tampered_page_link(tenant_a):
    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="Any", status="open")
        long_ago = timezone.now() - timedelta(days=60)
        for i in range(27):
            candidate = CandidateFactory(organization=tenant_a.organization)
            Application.objects.create(candidate=candidate, job=job, moved_at=long_ago + timedelta(minutes=i))
    first = waiting_page(tenant_a)
    assert len(rows(first, "quiet")) == 25 and 'data-testid="quiet-count">(27)' in first
    cursor = re.search(r'href="\?quiet=([^&"]+)&(?:amp;)?closed=', first).group(1)
    second = waiting_page(tenant_a, f"?quiet={cursor}")
    assert len(rows(second, "quiet")) == 2 and not rows(first, "quiet") & rows(second, "quiet")
    answer = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/applications/waiting/?quiet=forged", follow=True)
    assert answer.status_code == 200 and "invalid or has been altered" in answer.content.decode()


def test_another_tenants_application_is_404_and_a_hiring_manager_cannot_plan(tenant_a, tenant_b, desk):
    url = f"/o/{tenant_b.slug}/applications/{desk['failed'].pk}/notice/"
    assert tenant_b.recruiter_client.post(url, {"version": 1, "notice_plan": "now"}).status_code == 404
    own = f"/o/{tenant_a.slug}/applications/{desk['failed'].pk}/notice/"
    assert tenant_a.hiring_manager_client.post(own, {"version": 1, "notice_plan": "now"}).status_code == 404


@settings(max_examples=40, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(version=st.one_of(st.text(max_size=30), st.integers(), st.just("9" * 400)),
       plan=st.one_of(st.sampled_from(["now", "morning", "none", "", "NONE"]), st.text(max_size=20)),
       reason=st.one_of(st.text(max_size=50), st.just("x" * 5000), st.just("a\x00b")))
def test_bad_notice_input_is_refused_and_writes_nothing(tenant_a, desk, version, plan, reason):
    before = Application.all_tenants.filter(pk=desk["missing"].pk).values().get()
    answer = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/applications/{desk['missing'].pk}/notice/",
                                            {"version": version, "notice_plan": plan, "skip_reason": reason})
    assert answer.status_code < 500
    after = Application.all_tenants.filter(pk=desk["missing"].pk).values().get()
    good = str(version) == str(desk["missing"].version) and plan in ("now", "morning", "none") and (
        plan != "none" or reason.strip()) and len(reason) <= 300 and "\x00" not in reason
    if not good:
        assert after == before
    else:  # the rare valid draw: undo it, so the next example starts from the same row
        Application.all_tenants.filter(pk=before["id"]).update(**{
            k: v for k, v in before.items() if k not in ("id",)})
        Message.all_tenants.filter(application_id=before["id"]).delete()
