"""The candidate list's filters, shared by the recruiter pages and the API."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from .models import Candidate, Seniority, Source

SEARCH_MIN_LENGTH = 3
SORTS = {
    "-created_at": "Newest first",
    "created_at": "Oldest first",
    "last_name": "Name (A–Z)",
    "-last_name": "Name (Z–A)",
    "-last_activity_at": "Recently active",
    "last_activity_at": "Longest inactive",
    "-updated_at": "Recently updated",
}


def default_sort(params):
    """With an activity filter, the list reads best (and fastest) in order of last activity."""
    if params.get("active_before") or params.get("active_after"):
        return "-last_activity_at"
    return "-created_at"


class CandidateFilterForm(forms.Form):
    def clean_q(self):
        value = " ".join(self.cleaned_data.get("q", "").split())
        if any(len(word) < SEARCH_MIN_LENGTH for word in value.split()):
            raise forms.ValidationError(f"Type at least {SEARCH_MIN_LENGTH} characters for each word.")
        if len(value) > 200:
            raise forms.ValidationError("Search with at most 200 characters.")
        return value

    # Checked here, with the form, so that a page answers 400 with the error on the field instead of failing later.
    def _clean_tag_ids(self, name):
        values = self.cleaned_data.get(name) or []
        try:
            ids = [int(v) for v in values][:50]
        except (TypeError, ValueError) as error:
            raise forms.ValidationError("Use tag ids separated by commas.") from error
        if any(not 0 < tag_id < 2**31 for tag_id in ids):
            raise forms.ValidationError("Use tag ids separated by commas.")
        return ids

    def clean_tags_all(self):
        return self._clean_tag_ids("tags_all")

    def clean_tags_any(self):
        return self._clean_tag_ids("tags_any")

    def clean_tags_none(self):
        return self._clean_tag_ids("tags_none")


class CandidateFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search",
                                  help_text="Name, email, title or skill")
    # distinct=False: one table, no joins, and DISTINCT would stop PostgreSQL from reading the
    # rows in index order.
    seniority = django_filters.MultipleChoiceFilter(choices=Seniority.choices, distinct=False)
    source = django_filters.MultipleChoiceFilter(choices=Source.choices, distinct=False)
    location = django_filters.CharFilter(method="filter_location", label="Location starts with", max_length=150)
    skill = django_filters.CharFilter(method="filter_skill", label="Skill", max_length=50)
    do_not_contact = django_filters.BooleanFilter(widget=forms.Select(choices=[("", "Any"), ("true", "Yes"),
                                                                              ("false", "No")]))
    silver_medalist = django_filters.BooleanFilter(widget=forms.Select(choices=[("", "Any"), ("true", "Yes"),
                                                                               ("false", "No")]))
    active_after = django_filters.DateFilter(method="filter_active_after", label="Active since",
                                             widget=forms.DateInput(attrs={"type": "date"}))
    active_before = django_filters.DateFilter(method="filter_active_before", label="Inactive since",
                                              widget=forms.DateInput(attrs={"type": "date"}))
    tags_all = django_filters.BaseInFilter(method="filter_tags_all", label="Has all these tags (ids)")
    tags_any = django_filters.BaseInFilter(method="filter_tags_any", label="Has any of these tags (ids)")
    tags_none = django_filters.BaseInFilter(method="filter_tags_none", label="Has none of these tags (ids)")
    external_id = django_filters.CharFilter(max_length=100)
    email = django_filters.CharFilter(method="filter_email", max_length=254)

    class Meta:
        model = Candidate
        fields = []
        form = CandidateFilterForm

    def filter_search(self, queryset, name, value):
        words = value.lower().split()
        if not words:
            return queryset
        condition = Q()
        for word in words[:5]:
            condition &= Q(search_text__contains=word)
        return queryset.filter(condition)

    @staticmethod
    def _start_of(day):
        """Midnight of `day` in the organization's time zone, so that the index on the column serves."""
        from datetime import datetime, time

        from .tenancy import current_organization

        organization = current_organization()
        tz = organization.time_zone if organization is not None else timezone.get_current_timezone()
        return datetime.combine(day, time.min, tzinfo=tz)

    def filter_active_after(self, queryset, name, value):
        return queryset.filter(last_activity_at__gte=self._start_of(value))

    def filter_active_before(self, queryset, name, value):
        bound = self._start_of(value)
        # Nobody is active before being added (a constraint of the table), so the redundant
        # bound on created_at lets the "newest first" index start where matches begin.
        return queryset.filter(last_activity_at__lt=bound, created_at__lt=bound)

    @staticmethod
    def _tag_ids(value):
        try:
            return [int(v) for v in value][:50]
        except (TypeError, ValueError) as error:
            raise forms.ValidationError("Use tag ids separated by commas.") from error

    # tag_ids is an integer array with a GIN index (with the tenant): @> for all, && for any.
    def filter_tags_all(self, queryset, name, value):
        return queryset.filter(tag_ids__contains=self._tag_ids(value)) if value else queryset

    def filter_tags_any(self, queryset, name, value):
        return queryset.filter(tag_ids__overlap=self._tag_ids(value)) if value else queryset

    def filter_tags_none(self, queryset, name, value):
        return queryset.exclude(tag_ids__overlap=self._tag_ids(value)) if value else queryset

    def filter_location(self, queryset, name, value):
        value = value.strip().lower()
        return queryset.filter(location__lower__startswith=value) if value else queryset

    def filter_skill(self, queryset, name, value):
        value = value.strip().lower()
        return queryset.filter(skills__contains=[value]) if value else queryset

    def filter_email(self, queryset, name, value):
        return queryset.filter(email__iexact=value.strip())
