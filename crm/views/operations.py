from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from ..models import Operation
from ..permissions import RECRUITING, role_required


@require_GET
@role_required(RECRUITING)
def operation_detail(request, org_slug, operation_id):
    """A long job's progress; the page polls itself (htmx) until the job ends."""
    operation = get_object_or_404(Operation, pk=operation_id)
    template = "crm/operation.html#progress" if request.htmx else "crm/operation.html"
    return render(request, template, {"operation": operation})


@require_GET
@role_required(RECRUITING)
def operation_list(request, org_slug):
    return render(request, "crm/operations.html", {"operations": Operation.objects.order_by("-created_at")[:50]})
