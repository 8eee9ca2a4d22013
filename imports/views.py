"""Import pages: upload, map the columns, the dry run, the import and its row errors."""


from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.downloads import csv_download
from crm.permissions import RECRUITING, role_required
from crm.services import ServiceError

from . import parsing, services
from .models import CandidateImport, ImportProblem, ImportStatus


@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def import_list(request, org_slug):
    error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if getattr(request, "upload_too_large", False) or (upload is not None and
                                                           upload.size > parsing.MAX_FILE_BYTES):
            error = f"The file is larger than {parsing.MAX_FILE_BYTES // 2**20} MB; split it in parts."
        elif upload is None:
            error = "Choose a CSV file to upload."
        else:
            try:
                # The upload is on disk above FILE_UPLOAD_MAX_MEMORY_SIZE: it is read from there in chunks.
                candidate_import = services.import_upload(data=upload, filename=upload.name, actor=request.user)
            except parsing.ImportFileError as problem:
                error = str(problem)
            else:
                return redirect("imports:mapping", org_slug=org_slug, import_id=candidate_import.pk)
    imports = CandidateImport.objects.order_by("-created_at")[:50]
    return render(request, "imports/list.html", {"imports": imports, "error": error,
                                                 "max_mb": parsing.MAX_FILE_BYTES // 2**20},
                  status=400 if error else 200)


def _import(import_id):
    return get_object_or_404(CandidateImport, pk=import_id)


@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def import_mapping(request, org_slug, import_id):
    candidate_import = _import(import_id)
    error = None
    mapping = candidate_import.mapping
    evidence = candidate_import.evidence_note
    if request.method == "POST":
        mapping = {header: request.POST.get(f"col_{index}", "") for index, header in
                   enumerate(candidate_import.headers)}
        evidence = request.POST.get("evidence_note", "")
        try:
            services.import_set_mapping(candidate_import=candidate_import, mapping=mapping, evidence_note=evidence,
                                        actor=request.user)
            operation = services.start(candidate_import=candidate_import, write=False, actor=request.user)
        except ServiceError as problem:
            error = problem.message
        else:
            if operation is not None:
                return redirect("operation_detail", org_slug=org_slug, operation_id=operation.pk)
            return redirect("imports:detail", org_slug=org_slug, import_id=candidate_import.pk)
    samples = services.sample_rows(candidate_import)
    columns = [{"index": i, "header": header, "field": mapping.get(header, ""),
                "samples": [s.get(header, "")[:80] for s in samples]}
               for i, header in enumerate(candidate_import.headers)]
    return render(request, "imports/mapping.html", {
        "candidate_import": candidate_import, "columns": columns, "fields": parsing.FIELDS.items(),
        "error": error, "evidence_note": evidence}, status=400 if error else 200)


@require_GET
@role_required(RECRUITING)
def import_detail(request, org_slug, import_id):
    candidate_import = _import(import_id)
    problems = list(ImportProblem.objects.filter(candidate_import=candidate_import)[:100])
    counts = candidate_import.result if candidate_import.status == ImportStatus.DONE else candidate_import.preview
    return render(request, "imports/detail.html", {
        "candidate_import": candidate_import, "problems": problems, "counts": counts,
        "problem_count": ImportProblem.objects.filter(candidate_import=candidate_import).count(),
        "summary": services.summary(counts, write=candidate_import.status == ImportStatus.DONE),
        "mapped": [(h, parsing.FIELDS[f][0]) for h, f in candidate_import.mapping.items() if f]})


@require_POST
@role_required(RECRUITING)
def import_run(request, org_slug, import_id):
    candidate_import = _import(import_id)
    try:
        operation = services.start(candidate_import=candidate_import, write=request.POST.get("action") == "import",
                                   actor=request.user)
    except ServiceError as problem:
        messages.error(request, problem.message)
        return redirect("imports:detail", org_slug=org_slug, import_id=candidate_import.pk)
    if operation is not None:
        return redirect("operation_detail", org_slug=org_slug, operation_id=operation.pk)
    candidate_import.refresh_from_db()
    if candidate_import.status == ImportStatus.DONE:
        messages.success(request, "Imported: " + services.summary(candidate_import.result, write=True))
    return redirect("imports:detail", org_slug=org_slug, import_id=candidate_import.pk)


@require_GET
@role_required(RECRUITING)
def import_problems(request, org_slug, import_id):
    candidate_import = _import(import_id)

    return csv_download(services.problems_csv_rows(candidate_import),
                        f"import-{candidate_import.pk}-row-errors.csv")
