from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods, require_POST

from crm.models import Candidate
from crm.permissions import RECRUITING, role_required
from crm.services import ServiceError

from . import services
from .models import Tag, TagCategory


def tags_panel(request, candidate):
    if request.membership is None or not request.membership.can_recruit:
        return None
    return render_to_string("talentpools/_tags_panel.html", {
        "candidate": candidate, "tags": Tag.objects.filter(pk__in=candidate.tag_ids),
        "all_tags": Tag.objects.exclude(pk__in=candidate.tag_ids)}, request=request)


@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def tag_list(request, org_slug):
    if request.method == "POST":
        try:
            tag = services.tag_create(name=request.POST.get("name", ""),
                                      category=request.POST.get("category") or "custom")
        except ServiceError as error:
            messages.error(request, error.message)
        except ValidationError:
            messages.error(request, "Choose one of the categories.")
        else:
            messages.success(request, f"Tag “{tag.name}” created.")
        return redirect("talentpools:tag_list", org_slug=org_slug)
    tags = Tag.objects.annotate(candidates=Count("candidate_tags")).order_by("category", "name")
    return render(request, "talentpools/tags.html", {"tags": tags, "categories": TagCategory.choices})


@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def tag_edit(request, org_slug, tag_id):
    tag = get_object_or_404(Tag, pk=tag_id)
    count = tag.candidate_tags.count()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "rename":
                services.tag_rename(tag=tag, name=request.POST.get("name", ""))
                messages.success(request, "Renamed.")
            elif action == "merge":
                target = Tag.objects.filter(pk=request.POST.get("target") or 0).first()
                if target is None:
                    raise ServiceError("Choose a tag to merge into.", field="target")
                services.tag_merge(source=tag, target=target, actor=request.user)
                messages.success(request, f"Merged into “{target.name}”: {count} candidates moved.")
                return redirect("talentpools:tag_list", org_slug=org_slug)
            elif action == "delete":
                removed = services.tag_delete(tag=tag, actor=request.user)
                messages.success(request, f"Tag deleted; it was on {removed} candidates.")
                return redirect("talentpools:tag_list", org_slug=org_slug)
        except ServiceError as error:
            messages.error(request, error.message)
        return redirect("talentpools:tag_edit", org_slug=org_slug, tag_id=tag.pk)
    return render(request, "talentpools/tag_edit.html", {"tag": tag, "count": count,
                                                          "others": Tag.objects.exclude(pk=tag.pk)})


@require_POST
@role_required(RECRUITING)
def candidate_tag(request, org_slug, candidate_id):
    candidate = get_object_or_404(Candidate, pk=candidate_id)
    tag = Tag.objects.filter(pk=request.POST.get("tag") or 0).first()
    if tag is None:
        messages.error(request, "Choose one of your tags.")
    elif request.POST.get("remove"):
        services.untag_candidates(tag=tag, candidate_ids=[candidate.pk])
    else:
        services.tag_candidates(tag=tag, candidate_ids=[candidate.pk], actor=request.user)
    return redirect("candidate_detail", org_slug=org_slug, candidate_id=candidate.pk)
