from django.conf import settings
from django.db import models
from django.utils import timezone

from crm.tenancy import TenantModel


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Columns to map"
    CHECKING = "checking", "Checking the rows"
    CHECKED = "checked", "Ready to import"
    IMPORTING = "importing", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"


class CandidateImport(TenantModel):
    """A CSV of candidates (and their applications) from another ATS, on its way into the base."""

    filename = models.CharField(max_length=255)
    # The file itself is in ImportFileChunk rows, written and read a chunk at a time.
    size = models.PositiveIntegerField()
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=2)
    headers = models.JSONField(default=list)
    # {header: field} (see imports.parsing.FIELDS); "" leaves a column out.
    mapping = models.JSONField(default=dict, blank=True)
    # Required when a column says who agreed to be kept: recorded in the consent ledger with each row.
    evidence_note = models.TextField(blank=True, max_length=2000)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    rows = models.PositiveIntegerField(default=0)
    # The dry run's and the import's counts: created, updated, unchanged, rejected, suppressed, applications, tags.
    preview = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    operation = models.ForeignKey("crm.Operation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.filename


class ImportFileChunk(TenantModel):
    """One piece (CHUNK bytes, the last one shorter) of an uploaded file, so that no step holds it whole."""

    candidate_import = models.ForeignKey(CandidateImport, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["candidate_import", "position"], name="import_chunk_position")]


class ImportProblem(TenantModel):
    """A row the import refused (or will refuse), with the column and the reason."""

    candidate_import = models.ForeignKey(CandidateImport, on_delete=models.CASCADE, related_name="problems")
    line = models.PositiveIntegerField()
    column = models.CharField(max_length=200, blank=True)
    value = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["line", "id"]
        indexes = [models.Index(fields=["candidate_import", "line"], name="import_problem_line")]


class ImportMapping(TenantModel):
    """How this organization's columns were mapped last time, by normalized header."""

    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="import_mapping_per_org")]
