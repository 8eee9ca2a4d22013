from django import forms

from .models import Frequency, PurposeKey


class RecordConsentForm(forms.Form):
    purposes = forms.MultipleChoiceField(choices=PurposeKey.choices, widget=forms.CheckboxSelectMultiple,
                                         label="What the candidate agreed to")
    frequency = forms.ChoiceField(choices=Frequency.choices, initial=Frequency.MONTHLY,
                                  label="How often for the topics")
    note = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Evidence",
                           help_text="How, when and where the candidate agreed (e.g. “phone call, 3 May, "
                                     "asked for job offers monthly”).")


TALENT_POOL_CHOICES = [("keep", "Yes, keep my profile for future jobs"), ("withdraw", "No")]


class PreferencesForm(forms.Form):
    """The preference centre: one "how often" per topic ("" is no emails) and the talent-pool consent.

    A field left out of the POST changes nothing; a value outside the choices is refused and nothing is saved.
    """

    def __init__(self, *args, purposes, **kwargs):
        super().__init__(*args, **kwargs)
        self.purposes = [p for p in purposes if p.is_topic]
        self.has_talent_pool = any(not p.is_topic for p in purposes)
        for purpose in self.purposes:
            self.fields[f"frequency_{purpose.key}"] = forms.ChoiceField(
                choices=[("", "No emails"), *Frequency.choices], required=False, label=str(purpose))
        if self.has_talent_pool:
            self.fields["talent_pool"] = forms.ChoiceField(choices=TALENT_POOL_CHOICES, required=False,
                                                           label=str(PurposeKey.TALENT_POOL.label))

    def changes(self):
        """(topics, talent_pool) for `services.preferences_update`: only what the POST carried."""
        topics = {p.key: self.cleaned_data[f"frequency_{p.key}"] for p in self.purposes
                  if f"frequency_{p.key}" in self.data}
        talent_pool = None
        if self.has_talent_pool and self.data.get("talent_pool"):
            talent_pool = self.cleaned_data["talent_pool"] == "keep"
        return topics, talent_pool
