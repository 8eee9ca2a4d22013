"""Bring organizations' default templates that nobody edited up to the current defaults."""

from django.core.management.base import BaseCommand, CommandError

from crm.models import Organization
from crm.tenancy import organization_scope
from outreach.defaults import update_untouched_defaults


class Command(BaseCommand):
    help = ("Update each organization's default templates that are still word for word an earlier default; "
            "templates a recruiter edited are left as they are.")

    def add_arguments(self, parser):
        parser.add_argument("--org", help="only this organization (its slug)")
        parser.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")

    def handle(self, *args, org=None, dry_run=False, **options):
        organizations = Organization.objects.order_by("slug")
        if org:
            organizations = organizations.filter(slug=org)
            if not organizations.exists():
                raise CommandError(f"No organization “{org}”.")
        total = 0
        for organization in organizations:
            with organization_scope(organization):
                updated = update_untouched_defaults(organization, dry_run=dry_run)
            total += len(updated)
            if updated:
                names = ", ".join(f"{kind} ({language})" for kind, language in updated)
                self.stdout.write(f"{organization.slug}: {'would update' if dry_run else 'updated'} {names}")
        self.stdout.write(f"{'Would update' if dry_run else 'Updated'} {total} template(s); edited ones left as "
                          f"they are.")
