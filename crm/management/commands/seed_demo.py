from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from crm.models import Membership, Organization, Role, User
from crm.services import organization_create
from crm.tenancy import organization_scope

DEMO_PASSWORD = "silverpool-demo"
DEMO_SLUG = "demo"
DEMO_USERS = [
    ("admin@demo.silverpool.test", "Ada", "Admin", Role.ADMIN),
    ("recruiter@demo.silverpool.test", "Rita", "Recruiter", Role.RECRUITER),
    ("hiring.manager@demo.silverpool.test", "Hugo", "Manager", Role.HIRING_MANAGER),
]


def demo_user(email, first_name, last_name):
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=DEMO_PASSWORD, first_name=first_name,
                                        last_name=last_name)
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user


class Command(BaseCommand):
    help = "Load the demo organization (idempotent): three logins, password 'silverpool-demo'."

    @transaction.atomic
    def handle(self, **options):
        users = [(demo_user(email, first, last), role) for email, first, last, role in DEMO_USERS]
        organization = Organization.objects.filter(slug=DEMO_SLUG).first()
        if organization is None:
            organization = organization_create(
                name="Demo Robotics", slug=DEMO_SLUG, admin=users[0][0],
                sender_name="Demo Robotics Talent", postal_address="12 rue de la Paix, 75002 Paris, France",
                privacy_notice_url="https://demo.silverpool.test/privacy",
            )
        with organization_scope(organization):
            for user, role in users:
                Membership.objects.get_or_create(organization=organization, user=user, defaults={"role": role})
            seed_hooks(organization, recruiter=users[1][0], hiring_manager=users[2][0])
        self.stdout.write(f"Demo organization ready at /o/{DEMO_SLUG}/")


def seed_hooks(organization, *, recruiter, hiring_manager):
    """Each app adds its demo data here, in dependency order."""
    from crm.demo import seed_candidates, seed_pipeline

    seed_candidates(organization, actor=recruiter)
    seed_pipeline(organization, recruiter=recruiter, hiring_manager=hiring_manager)
    from talentpools.demo import seed_pools

    seed_pools(organization, recruiter=recruiter)
    from outreach.demo import seed_campaigns

    seed_campaigns(organization, recruiter=recruiter)
