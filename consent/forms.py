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
