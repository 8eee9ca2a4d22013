from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from crm.forms import validate_organization_slug
from crm.models import User
from crm.services import organization_create


class Command(BaseCommand):
    help = "Create an organization and its first admin (creating the admin's account if needed)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("slug")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-password", help="Required when the admin has no account yet.")

    @transaction.atomic
    def handle(self, name, slug, admin_email, admin_password, **options):
        try:
            slug = validate_organization_slug(slug)
        except ValidationError as error:
            raise CommandError(f"slug: {' '.join(error.messages)}") from error
        admin = User.objects.filter(email__iexact=admin_email).first()
        if admin is None:
            if not admin_password:
                raise CommandError("No account has this email yet: give --admin-password to create it.")
            admin = User.objects.create_user(email=admin_email, password=admin_password)
            EmailAddress.objects.create(user=admin, email=admin.email, primary=True, verified=True)
        organization = organization_create(name=name, slug=slug, admin=admin)
        self.stdout.write(self.style.SUCCESS(f"Created {organization.name} at /o/{organization.slug}/ "
                                             f"with admin {admin.email}."))
