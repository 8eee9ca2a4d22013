from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crm.models import Organization
from crm.services import ServiceError
from crm.tenancy import organization_scope


class Command(BaseCommand):
    help = ("Import candidates (and their applications) from a CSV of another ATS: the columns are mapped as the "
            "organization mapped them last, else by the presets; --dry-run only reports.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--map", action="append", default=[], metavar="HEADER=FIELD",
                            help="map a column by hand (repeatable); FIELD empty leaves it out")
        parser.add_argument("--evidence", default="", help="evidence for a consent column, for the whole file")

    def handle(self, *args, **options):
        from imports import parsing, services
        from imports.models import ImportProblem

        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['org']!r}.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        with organization_scope(organization):
            try:
                with path.open("rb") as file:
                    candidate_import = services.import_upload(data=file, filename=path.name, actor=None)
                mapping = dict(candidate_import.mapping)
                for pair in options["map"]:
                    header, _, field = pair.partition("=")
                    if header not in mapping:
                        raise CommandError(f"No column {header!r} in the file; columns: {', '.join(mapping)}.")
                    mapping[header] = field
                services.import_set_mapping(candidate_import=candidate_import, mapping=mapping,
                                            evidence_note=options["evidence"], actor=None)
                services.run(candidate_import.pk, write=False, actor=None)
                if not options["dry_run"]:
                    candidate_import.refresh_from_db()
                    services.run(candidate_import.pk, write=True, actor=None)
            except parsing.ImportFileError as error:
                raise CommandError(str(error)) from error
            except ServiceError as error:
                raise CommandError(error.message) from error
            candidate_import.refresh_from_db()
            self.stdout.write("Mapping: " + ", ".join(f"{h} → {f}" for h, f in candidate_import.mapping.items() if f))
            counts = candidate_import.result if not options["dry_run"] else candidate_import.preview
            self.stdout.write(services.summary(counts, write=not options["dry_run"]))
            for problem in ImportProblem.objects.filter(candidate_import=candidate_import)[:50]:
                self.stdout.write(f"  line {problem.line}, {problem.column or '-'}: {problem.reason}")
