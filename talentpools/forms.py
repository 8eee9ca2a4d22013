from django import forms
from django.conf import settings

from crm.models import RejectionReason, Seniority, Source

from .models import RuleCondition, Tag
from .segments import CONSENT_STATES, STAGES_REACHED, TOPICS, DefinitionError, clean_definition

ANY = [("", "Any")]


def _tag_choices():
    return [(t.pk, t.name) for t in Tag.objects.order_by("name")]


class SegmentForm(forms.Form):
    """A smart pool's filters as a form; `definition()` gives the JSON the pool stores."""

    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=500, required=False)
    tags_all = forms.TypedMultipleChoiceField(label="Has all of these tags", coerce=int, required=False,
                                              widget=forms.SelectMultiple(attrs={"size": 4}))
    tags_any = forms.TypedMultipleChoiceField(label="Has any of these tags", coerce=int, required=False,
                                              widget=forms.SelectMultiple(attrs={"size": 4}))
    tags_none = forms.TypedMultipleChoiceField(label="Has none of these tags", coerce=int, required=False,
                                               widget=forms.SelectMultiple(attrs={"size": 4}))
    skills_all = forms.CharField(label="Has all these skills", required=False, max_length=500,
                                 help_text="Separated by commas, e.g. python, django")
    skills_any = forms.CharField(label="Has any of these skills", required=False, max_length=500)
    seniority = forms.MultipleChoiceField(choices=Seniority.choices, required=False,
                                          widget=forms.SelectMultiple(attrs={"size": 4}))
    source = forms.MultipleChoiceField(choices=Source.choices, required=False,
                                       widget=forms.SelectMultiple(attrs={"size": 4}))
    language = forms.MultipleChoiceField(choices=settings.LANGUAGES, required=False,
                                         widget=forms.SelectMultiple(attrs={"size": 3}))
    location = forms.CharField(label="Location starts with", max_length=150, required=False)
    furthest_stage = forms.ChoiceField(label="Got at least as far as", required=False)
    rejection_reasons = forms.TypedMultipleChoiceField(label="Rejected for", coerce=int, required=False,
                                                       widget=forms.SelectMultiple(attrs={"size": 4}))
    silver_medalist = forms.ChoiceField(choices=[("", "Any"), ("true", "Yes"), ("false", "No")], required=False)
    inactive_days = forms.IntegerField(label="No activity for at least (days)", min_value=1, max_value=36500,
                                       required=False)
    active_within_days = forms.IntegerField(label="Active in the last (days)", min_value=1, max_value=36500,
                                            required=False)
    active_after = forms.DateField(label="Active since", required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    active_before = forms.DateField(label="Inactive since", required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, with_name=True, **kwargs):
        super().__init__(*args, **kwargs)
        tags = _tag_choices()
        for name in ("tags_all", "tags_any", "tags_none"):
            self.fields[name].choices = tags
        self.fields["furthest_stage"].choices = ANY + [(s, s.title()) for s in STAGES_REACHED
                                                       if s != "applied"]
        self.fields["rejection_reasons"].choices = [(r.pk, r.label) for r in RejectionReason.objects.all()]
        from consent.models import PurposeKey

        for topic in TOPICS:
            self.fields[f"consent_{topic}"] = forms.ChoiceField(
                label=f"Consent: {PurposeKey(topic).label.lower()}", required=False,
                choices=ANY + [(key, text[0].upper() + text[1:]) for key, text in CONSENT_STATES.items()])
        if not with_name:
            del self.fields["name"]
            del self.fields["description"]

    @classmethod
    def initial_from(cls, definition):
        initial = dict(definition)
        for key in ("skills_all", "skills_any"):
            if key in initial:
                initial[key] = ", ".join(initial[key])
        if "silver_medalist" in initial:
            initial["silver_medalist"] = "true" if initial["silver_medalist"] else "false"
        for topic, state in (definition.get("consent") or {}).items():
            initial[f"consent_{topic}"] = state
        initial.pop("consent", None)
        return initial

    def definition(self):
        """The cleaned definition, or None with the errors added to the form's fields."""
        data = self.cleaned_data
        raw = {}
        for key in ("tags_all", "tags_any", "tags_none", "seniority", "source", "language", "rejection_reasons"):
            if data.get(key):
                raw[key] = list(data[key])
        for key in ("skills_all", "skills_any"):
            if data.get(key):
                raw[key] = [s for s in data[key].split(",") if s.strip()]
        for key in ("location", "furthest_stage", "inactive_days", "active_within_days"):
            if data.get(key) not in (None, ""):
                raw[key] = data[key]
        for key in ("active_after", "active_before"):
            if data.get(key):
                raw[key] = data[key].isoformat()
        if data.get("silver_medalist"):
            raw["silver_medalist"] = data["silver_medalist"] == "true"
        consent = {topic: data[f"consent_{topic}"] for topic in TOPICS if data.get(f"consent_{topic}")}
        if consent:
            raw["consent"] = consent
        try:
            return clean_definition(raw)
        except DefinitionError as error:
            for field, messages in error.errors.items():
                target = field if field in self.fields else None
                if field == "consent":
                    target = None
                for message in messages:
                    self.add_error(target, message)
            return None


class RuleForm(forms.Form):
    condition = forms.ChoiceField(choices=RuleCondition.choices)
    keyword = forms.CharField(max_length=50, required=False, help_text="For “keyword”: a word of the title or a skill")
    source = forms.ChoiceField(choices=ANY + list(Source.choices), required=False)
    rejection_reason = forms.ChoiceField(required=False)
    tag = forms.TypedChoiceField(coerce=int, label="Add the tag")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = _tag_choices()
        self.fields["rejection_reason"].choices = ANY + [(r.pk, r.label) for r in RejectionReason.objects.all()]

    def value(self):
        condition = self.cleaned_data["condition"]
        return {"keyword": self.cleaned_data.get("keyword"), "source": self.cleaned_data.get("source"),
                "rejection_reason": self.cleaned_data.get("rejection_reason")}.get(condition, "")
