from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm import selectors as selectors_crm
from crm.downloads import csv_download
from crm.filters import CandidateFilter
from crm.filters import default_sort as crm_default_sort
from crm.models import Candidate
from crm.pagination import InvalidCursor
from crm.permissions import RECRUITING, role_required
from crm.services import ServiceError

from . import selectors, services
from .forms import RuleForm, SegmentForm
from .models import PoolKind, Tag, TagCategory, TaggingRule, TalentPool
from .segments import DefinitionError, default_sort, describe, segment_queryset


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
    return render(request, "talentpools/tag_edit.html", {
        "tag": tag, "count": count, "others": Tag.objects.exclude(pk=tag.pk),
        "pools_naming": services.smart_pools_naming_tag(tag.pk), "rules": tag.rules.count()})


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


# --- Pools ---------------------------------------------------------------------------------

def _pool(pool_id):
    return get_object_or_404(TalentPool, pk=pool_id)


@require_GET
@role_required(RECRUITING)
def pool_list(request, org_slug):
    pools = list(TalentPool.objects.annotate(hand_picked=Count("members")).order_by("name"))
    for pool in pools:
        if pool.is_smart:
            pool.summary = describe(pool.definition)
    return render(request, "talentpools/pools.html", {"pools": pools})


@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def pool_new(request, org_slug):
    kind = request.POST.get("kind") or request.GET.get("kind") or "smart"
    kind = kind if kind in PoolKind.values else "smart"
    initial = SegmentForm.initial_from(_definition_from_query(request.GET)) if request.method == "GET" else None
    form = SegmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        definition = form.definition() if kind == "smart" else {}
        if definition is not None:
            try:
                pool = services.pool_create(name=form.cleaned_data["name"], kind=kind, actor=request.user,
                                            description=form.cleaned_data["description"], definition=definition)
            except ServiceError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            except DefinitionError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Pool “{pool.name}” created.")
                return redirect("talentpools:pool_detail", org_slug=org_slug, pool_id=pool.pk)
    return render(request, "talentpools/pool_form.html", {"form": form, "kind": kind, "pool": None},
                  status=400 if form.errors else 200)


def _definition_from_query(query):
    """Pre-fill the builder from the candidate list's filters ("save these filters as a pool")."""
    definition = {}
    for key in ("seniority", "source"):
        if query.getlist(key):
            definition[key] = query.getlist(key)
    if query.get("location"):
        definition["location"] = query["location"]
    if query.get("skill"):
        definition["skills_all"] = [query["skill"]]
    if query.get("silver_medalist") in ("true", "false"):
        definition["silver_medalist"] = query["silver_medalist"] == "true"
    for key in ("tags_all", "tags_any", "tags_none"):
        ids = [int(v) for v in query.get(key, "").split(",") if v.strip().isdigit()]
        if ids:
            definition[key] = ids
    for key in ("active_after", "active_before"):
        if query.get(key):
            definition[key] = query[key]
    return definition


@require_GET
@role_required(RECRUITING)
def pool_preview(request, org_slug):
    """The builder's live count and first rows (htmx), before the pool is saved."""
    form = SegmentForm(request.GET, with_name=False)
    context = {"form": form}
    if form.is_valid():
        definition = form.definition()
        if definition is not None:
            listing = selectors_crm.candidate_listing(segment_queryset(definition), sort=default_sort(definition),
                                                      size=10, cap=selectors.POOL_COUNT_CAP)
            context.update(listing=listing, summary=describe(definition))
    return render(request, "talentpools/_pool_preview.html", context)


@require_GET
@role_required(RECRUITING)
def pool_detail(request, org_slug, pool_id):
    pool = _pool(pool_id)
    context = {"pool": pool, "summary": describe(pool.definition) if pool.is_smart else "",
               "tags": Tag.objects.order_by("name"), "static_pools": TalentPool.objects.filter(kind="static")
               .exclude(pk=pool.pk).order_by("name"), "inline_limit": f"{services.INLINE_LIMIT:,}"}
    status = 200
    try:
        base = selectors.pool_candidates(pool)
    except selectors.BrokenPool as error:
        context["broken"] = error.errors
        return render(request, "talentpools/pool_detail.html", context, status=200)
    filterset = CandidateFilter(request.GET, queryset=base)
    listing, cursor_error = None, None
    if filterset.is_valid():
        try:
            listing = selectors_crm.candidate_listing(
                filterset.qs, sort=request.GET.get("sort") or (default_sort(pool.definition) if pool.is_smart
                                                               else crm_default_sort(request.GET)),
                cursor=request.GET.get("cursor") or None, size=25, cap=selectors.POOL_COUNT_CAP)
        except InvalidCursor as error:
            cursor_error = str(error)
    else:
        status = 400
    query = request.GET.copy()
    query.pop("cursor", None)
    context.update(filter=filterset, listing=listing, cursor_error=cursor_error,
                   query_without_cursor=query.urlencode(),
                   filtered=any(v for k, v in request.GET.items() if k not in ("sort", "cursor", "size")))
    if cursor_error:
        status = 400
    return render(request, "talentpools/pool_detail.html", context, status=status)


@require_GET
@role_required(RECRUITING)
def pool_growth(request, org_slug, pool_id):
    pool = _pool(pool_id)
    try:
        series = selectors.pool_growth(pool)
    except selectors.BrokenPool:
        series = []
    top = max([point["count"] for point in series] + [1])
    for index, point in enumerate(series):
        point["height"] = round(140 * point["count"] / top)
        point["x"] = 10 + index * 50
        point["y"] = 160 - point["height"]
    return render(request, "talentpools/_pool_growth.html", {"pool": pool, "growth": series})


@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def pool_edit(request, org_slug, pool_id):
    pool = _pool(pool_id)
    if request.method == "POST" and request.POST.get("action") == "delete":
        members = services.pool_delete(pool=pool, actor=request.user)
        messages.success(request, f"Pool “{pool.name}” deleted" + (
            f" ({members} hand-picked member{'s' if members != 1 else ''} left in your base)." if members else "."))
        return redirect("talentpools:pool_list", org_slug=org_slug)
    initial = {"name": pool.name, "description": pool.description, **SegmentForm.initial_from(pool.definition)}
    form = SegmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        definition = form.definition() if pool.is_smart else None
        if not (pool.is_smart and definition is None):
            try:
                services.pool_update(pool=pool, actor=request.user, name=form.cleaned_data["name"],
                                     description=form.cleaned_data["description"], definition=definition)
            except ServiceError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, "Pool saved.")
                return redirect("talentpools:pool_detail", org_slug=org_slug, pool_id=pool.pk)
    return render(request, "talentpools/pool_form.html", {"form": form, "kind": pool.kind, "pool": pool},
                  status=400 if form.errors else 200)


@require_GET
@role_required(RECRUITING)
def pool_export(request, org_slug, pool_id):
    from django.utils import timezone

    from crm.services import candidates_export_rows

    pool = _pool(pool_id)
    try:
        queryset = selectors.pool_candidates(pool)
    except selectors.BrokenPool:
        messages.error(request, "This pool's filters name something deleted; fix them before exporting.")
        return redirect("talentpools:pool_detail", org_slug=org_slug, pool_id=pool.pk)

    rows = candidates_export_rows(queryset=queryset, actor=request.user,
                                  description={"pool": pool.name, "pool_id": pool.pk, "definition": pool.definition})
    return csv_download(rows, f"pool-{pool.pk}-{request.organization.slug}-{timezone.now():%Y%m%d-%H%M}.csv")


@require_POST
@role_required(RECRUITING)
def pool_remove_member(request, org_slug, pool_id):
    pool = _pool(pool_id)
    ids = [int(v) for v in request.POST.getlist("candidate") if v.isdigit()]
    try:
        removed = services.pool_remove_members(pool=pool, candidate_ids=ids)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{removed} removed from the pool." if removed else "Nobody was removed.")
    return redirect("talentpools:pool_detail", org_slug=org_slug, pool_id=pool.pk)


@require_POST
@role_required(RECRUITING)
def candidate_pool(request, org_slug, candidate_id):
    """Add a candidate to a hand-picked pool, or take them out (the pools panel, the matches list)."""
    candidate = get_object_or_404(Candidate, pk=candidate_id)
    pool = TalentPool.objects.filter(pk=request.POST.get("pool") if (request.POST.get("pool") or "").isdigit()
                                     else 0).first()
    back = request.POST.get("next") or ""
    try:
        if pool is None:
            raise ServiceError("Choose one of your pools.")
        if request.POST.get("remove"):
            services.pool_remove_members(pool=pool, candidate_ids=[candidate.pk])
            messages.success(request, f"{candidate.full_name} removed from “{pool.name}”.")
        else:
            added = services.pool_add_members(pool=pool, candidate_ids=[candidate.pk], actor=request.user)
            messages.success(request, f"{candidate.full_name} added to “{pool.name}”." if added else
                             f"{candidate.full_name} was already in “{pool.name}”.")
    except ServiceError as error:
        messages.error(request, error.message)
    if back.startswith(f"/o/{org_slug}/") and "//" not in back:
        return redirect(back)
    return redirect("candidate_detail", org_slug=org_slug, candidate_id=candidate.pk)


def pools_panel(request, candidate):
    if request.membership is None or not request.membership.can_recruit:
        return None
    memberships, matching = selectors.pools_for_candidate(candidate)
    member_of = {m.pool_id for m in memberships}
    return render_to_string("talentpools/_pools_panel.html", {
        "candidate": candidate, "memberships": memberships, "matching": matching,
        "addable": TalentPool.objects.filter(kind="static").exclude(pk__in=member_of).order_by("name")},
        request=request)


# --- Bulk actions ------------------------------------------------------------------------------

@require_POST
@role_required(RECRUITING)
def bulk_action(request, org_slug):
    """Tag, untag or add to a pool: the ticked candidates, or every match of the list's filters."""
    from django.http import QueryDict

    back = request.POST.get("next") or ""
    if not (back.startswith(f"/o/{org_slug}/") and "//" not in back):
        back = f"/o/{org_slug}/candidates/"
    action = request.POST.get("action", "")
    target = request.POST.get("pool") if action == "add_to_pool" else request.POST.get("tag")
    if request.POST.get("scope") == "all":
        query = QueryDict(request.POST.get("query", ""))
        selection = {"filter": {k: query.getlist(k) for k in query}}
        if (request.POST.get("pool_scope") or "").isdigit():
            selection["pool"] = int(request.POST["pool_scope"])
    else:
        selection = {"candidates": [int(v) for v in request.POST.getlist("candidate") if v.isdigit()]}
    try:
        changed, operation = services.bulk_action(
            action=action, target_id=int(target) if (target or "").isdigit() else None, selection=selection,
            actor=request.user, return_url=back)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(back)
    if operation is not None:
        return redirect("operation_detail", org_slug=org_slug, operation_id=operation.pk)
    noun = {"tag": "newly tagged", "untag": "untagged", "add_to_pool": "added to the pool"}[action]
    messages.success(request, f"Done: {changed} candidate{'s' if changed != 1 else ''} {noun}.")
    return redirect(back)


# --- Tagging rules ------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def rule_list(request, org_slug):
    form = RuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rule = services.rule_create(condition=form.cleaned_data["condition"], value=form.value(),
                                        tag_id=form.cleaned_data["tag"], actor=request.user)
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"Rule “{rule.name}” added: it applies to new and changed candidates. "
                             "Run it over your base to tag the ones you have.")
            return redirect("talentpools:rule_list", org_slug=org_slug)
    rules = TaggingRule.objects.select_related("tag").order_by("-active", "name")
    return render(request, "talentpools/rules.html", {"form": form, "rules": rules},
                  status=400 if form.errors else 200)


@require_POST
@role_required(RECRUITING)
def rule_action(request, org_slug, rule_id):
    rule = get_object_or_404(TaggingRule, pk=rule_id)
    action = request.POST.get("action")
    if action == "run":
        try:
            operation = services.rules_run_over_base(rule_ids=[rule.pk], actor=request.user,
                                                     return_url=f"/o/{org_slug}/tags/rules/")
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            return redirect("operation_detail", org_slug=org_slug, operation_id=operation.pk)
    elif action == "toggle":
        rule.active = not rule.active
        rule.save(update_fields=["active"])
        messages.success(request, f"Rule {'switched on' if rule.active else 'paused'}.")
    elif action == "delete":
        rule.delete()
        messages.success(request, "Rule deleted; the tags it added stay.")
    return redirect("talentpools:rule_list", org_slug=org_slug)


# --- Matching a job -------------------------------------------------------------------------------

def job_matches_panel(request, job):
    if request.membership is None or not request.membership.can_recruit:
        return None
    return render_to_string("talentpools/_job_matches_panel.html", {"job": job}, request=request)


@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def job_matches(request, org_slug, job_id):
    from crm.models import Job

    from .matching import job_matches as rank
    from .matching import job_tag_ids

    job = get_object_or_404(Job, pk=job_id)
    if request.method == "POST":
        ids = {int(v) for v in request.POST.getlist("tags") if v.isdigit()}
        services.job_tags_set(job=job, tag_ids=ids)
        messages.success(request, "Job tags saved.")
        return redirect("talentpools:job_matches", org_slug=org_slug, job_id=job.pk)
    matches = rank(job, limit=25)
    context = {"job": job, "matches": matches, "job_tags": set(job_tag_ids(job)),
               "tags": Tag.objects.order_by("name"),
               "static_pools": TalentPool.objects.filter(kind="static").order_by("name")}
    template = "talentpools/job_matches.html#matches" if request.htmx else "talentpools/job_matches.html"
    return render(request, template, context)


def bulk_bar(request, context):
    """The bulk actions above a candidate list (registered on crm's list, included in pool pages)."""
    if request.membership is None or not request.membership.can_recruit:
        return None
    pool = context.get("pool")
    static_pools = TalentPool.objects.filter(kind="static").order_by("name")
    if pool is not None:
        static_pools = static_pools.exclude(pk=pool.pk)
    return render_to_string("talentpools/_bulk_bar.html", {
        **context, "tags": Tag.objects.order_by("name"), "static_pools": static_pools,
        "inline_limit": f"{services.INLINE_LIMIT:,}"}, request=request)
