from django import forms

from .models import EmailTemplate


class EmailTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["name", "kind", "language", "subject", "html_body", "text_body", "active"]
        widgets = {
            "html_body": forms.Textarea(attrs={"rows": 16, "class": "code"}),
            "text_body": forms.Textarea(attrs={"rows": 6, "class": "code"}),
        }
        labels = {"html_body": "Body (HTML)", "text_body": "Plain-text body"}

    def validate_unique(self):
        """The service checks the name."""


class ReviewForm(forms.Form):
    strengths = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
                                label="What impressed the team")
    improvements = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
                                   label="Where the candidate could grow")
