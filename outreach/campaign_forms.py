from django import forms
from django.utils import timezone

from .models import TOPIC_TEMPLATE_KINDS, Campaign, CampaignTopic, EmailTemplate, Schedule

WEEKDAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"), (5, "Saturday"),
            (6, "Sunday")]


class CampaignForm(forms.Form):
    """The campaign builder; the service checks the whole (pools of this organization, template kind, ...)."""

    name = forms.CharField(max_length=120)
    topic = forms.ChoiceField(choices=CampaignTopic.choices)
    pool_ids = forms.TypedMultipleChoiceField(label="Pools", coerce=int, widget=forms.CheckboxSelectMultiple,
                                              required=False)
    inactive_days = forms.IntegerField(label="Only if no activity for at least (days)", min_value=1,
                                       max_value=36500, required=False, help_text="e.g. 180 for six months")
    active_within_days = forms.IntegerField(label="…and some activity in the last (days)", min_value=1,
                                            max_value=36500, required=False, help_text="e.g. 365 for a year")
    template = forms.TypedChoiceField(coerce=int, label="Email template")
    other_languages = forms.TypedMultipleChoiceField(
        label="Also use these for their language", coerce=int, required=False,
        widget=forms.CheckboxSelectMultiple, help_text="Candidates in another language get the main template.")
    schedule = forms.ChoiceField(choices=Schedule.choices, widget=forms.RadioSelect, initial=Schedule.NOW)
    scheduled_at = forms.DateTimeField(label="Date and time", required=False,
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                       help_text="In your organization's time zone")
    weekday = forms.TypedChoiceField(choices=[("", "—")] + WEEKDAYS, coerce=int, empty_value=None, required=False,
                                     label="Day of the week")
    day_of_month = forms.IntegerField(label="Day of the month", min_value=1, max_value=31, required=False)
    send_time = forms.TimeField(label="Time of day", required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    max_jobs = forms.IntegerField(label="Jobs per email (job offers)", min_value=1, max_value=20, initial=5)
    event_name = forms.CharField(max_length=200, required=False)
    event_starts_at = forms.DateTimeField(label="Event starts", required=False,
                                          widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    event_place = forms.CharField(max_length=300, required=False, label="Place or link")
    referral = forms.BooleanField(required=False, label="Add a referral link recipients can pass on to a friend")
    sender_name = forms.CharField(max_length=120, required=False, label="Sender's name",
                                  help_text="Empty: your organization's sender name")

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        from talentpools.models import TalentPool

        self.organization = organization
        self.fields["pool_ids"].choices = [(p.pk, p.name) for p in TalentPool.objects.order_by("name")]
        kinds = {kind for kinds in TOPIC_TEMPLATE_KINDS.values() for kind in kinds}
        templates = EmailTemplate.objects.filter(kind__in=kinds, active=True).order_by("kind", "language", "name")
        choices = [(t.pk, f"{t.get_kind_display()} · {t.get_language_display()} · {t.name}") for t in templates]
        self.fields["template"].choices = choices
        self.fields["other_languages"].choices = choices

    def _aware(self, value):
        if value is None:
            return None
        if timezone.is_naive(value):
            return value.replace(tzinfo=self.organization.time_zone)
        return value.astimezone(self.organization.time_zone)

    def campaign_data(self):
        data = dict(self.cleaned_data)
        filters = {key: value for key in ("inactive_days", "active_within_days") if (value := data.pop(key, None))}
        others = data.pop("other_languages", [])
        main = EmailTemplate.objects.filter(pk=data["template"]).first()
        languages = {}
        for template in EmailTemplate.objects.filter(pk__in=others):
            if main is None or template.pk == main.pk or template.language == main.language:
                continue
            languages[template.language] = template.pk
        data.update(filters=filters, language_templates=languages,
                    scheduled_at=self._aware(data.get("scheduled_at")),
                    event_starts_at=self._aware(data.get("event_starts_at")))
        return data

    @classmethod
    def initial_from(cls, campaign: Campaign):
        tz = campaign.organization.time_zone
        local = lambda v: v.astimezone(tz).replace(tzinfo=None) if v else None  # noqa: E731
        return {
            "name": campaign.name, "topic": campaign.topic, "pool_ids": campaign.pool_ids,
            "inactive_days": campaign.filters.get("inactive_days"),
            "active_within_days": campaign.filters.get("active_within_days"),
            "template": campaign.template_id, "other_languages": list(campaign.language_templates.values()),
            "schedule": campaign.schedule, "scheduled_at": local(campaign.scheduled_at), "weekday": campaign.weekday,
            "day_of_month": campaign.day_of_month, "send_time": campaign.send_time, "max_jobs": campaign.max_jobs,
            "event_name": campaign.event_name, "event_starts_at": local(campaign.event_starts_at),
            "event_place": campaign.event_place, "referral": campaign.referral, "sender_name": campaign.sender_name,
        }
