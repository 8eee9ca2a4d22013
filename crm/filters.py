"""The candidate list's filters, shared by the recruiter pages and the API."""

import django_filters
from django import forms
from django.db.models import Q

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


class CandidateFilterForm(forms.Form):
    def clean_q(self):
        value = " ".join(self.cleaned_data.get("q", "").split())
        if any(len(word) < SEARCH_MIN_LENGTH for word in value.split()):
            raise forms.ValidationError(f"Type at least {SEARCH_MIN_LENGTH} characters for each word.")
        if len(value) > 200:
            raise forms.ValidationError("Search with at most 200 characters.")
        return value


class CandidateFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search",
                                  help_text="Name, email, title or skill")
    seniority = django_filters.MultipleChoiceFilter(choices=Seniority.choices)
    source = django_filters.MultipleChoiceFilter(choices=Source.choices)
    location = django_filters.CharFilter(method="filter_location", label="Location starts with", max_length=150)
    skill = django_filters.CharFilter(method="filter_skill", label="Skill", max_length=50)
    do_not_contact = django_filters.BooleanFilter(widget=forms.Select(choices=[("", "Any"), ("true", "Yes"),
                                                                              ("false", "No")]))
    silver_medalist = django_filters.BooleanFilter(widget=forms.Select(choices=[("", "Any"), ("true", "Yes"),
                                                                               ("false", "No")]))
    active_after = django_filters.DateFilter(field_name="last_activity_at", lookup_expr="date__gte",
                                             label="Active since", widget=forms.DateInput(attrs={"type": "date"}))
    active_before = django_filters.DateFilter(field_name="last_activity_at", lookup_expr="date__lt",
                                              label="Inactive since", widget=forms.DateInput(attrs={"type": "date"}))
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

    def filter_location(self, queryset, name, value):
        value = value.strip().lower()
        return queryset.filter(location__lower__startswith=value) if value else queryset

    def filter_skill(self, queryset, name, value):
        value = value.strip().lower()
        return queryset.filter(skills__contains=[value]) if value else queryset

    def filter_email(self, queryset, name, value):
        return queryset.filter(email__iexact=value.strip())
