"""The organization's dashboard: the talent pool and campaign numbers, and the complaint warning."""

from datetime import timedelta

from django.utils import timezone

from consent.models import Action, ConsentPurpose, Source
from consent.services import record
from outreach.models import Message

from ..factories import CandidateFactory


def test_dashboard_numbers_and_the_complaint_warning(tenant_a):
    now = timezone.now()
    with tenant_a.scope():
        people = [CandidateFactory(organization=tenant_a.organization) for _ in range(4)]
        talent_pool = ConsentPurpose.objects.get(key="talent_pool")
        for person in people[:3]:
            record(candidate=person, purpose=talent_pool, action=Action.CONFIRMED, source=Source.REJECTION_LINK)
        for i, person in enumerate(people):
            Message.objects.create(unique_key=f"notice:{i}", kind="rejection_early", purpose="transactional",
                                   to_email=person.email, candidate=person, status="sent", sent_at=now)
        # 1 complaint out of 4 campaign emails: far above 0.1%.
        for i, person in enumerate(people):
            Message.objects.create(unique_key=f"campaign:x:{i}", kind="company_news", purpose="marketing",
                                   to_email=person.email, candidate=person, topic="company_news",
                                   status="complained" if i == 0 else "delivered", sent_at=now - timedelta(days=1))
    page = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/").content.decode()
    assert 'data-testid="opt-in-rate">75.0%' in page
    assert 'data-testid="complaint-rate">25.0%' in page and 'data-testid="complaint-warning"' in page
    assert "Joined the talent pool, per month" in page
    # Hiring managers see their own dashboard, without the talent pool's numbers.
    assert "talent-pool-results" not in tenant_a.hiring_manager_client.get(f"/o/{tenant_a.slug}/").content.decode()


def test_an_empty_organization_shows_dashes_not_errors(tenant_a):
    page = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/")
    assert page.status_code == 200
    assert 'data-testid="complaint-rate">—' in page.content.decode()
