from django import forms
from django.conf import settings
from django.contrib.auth import password_validation

from .models import ApiScope, Organization, Role, slug_validator


def validate_organization_slug(slug):
    slug = slug.strip().lower()
    slug_validator(slug)
    if slug in settings.RESERVED_SLUGS:
        raise forms.ValidationError("This address is reserved; please choose another.")
    if Organization.objects.filter(slug=slug).exists():
        raise forms.ValidationError("This address is already taken; please choose another.")
    return slug


class OrganizationSignupForm(forms.Form):
    """Extra fields of the sign-up page: a new account arrives with its own organization."""

    first_name = forms.CharField(max_length=150, label="Your first name")
    last_name = forms.CharField(max_length=150, label="Your last name")
    organization_name = forms.CharField(max_length=120, label="Company or team name")
    organization_slug = forms.CharField(
        max_length=50,
        label="Address",
        help_text="Your pages live at /o/<address>/: lowercase letters, digits and hyphens.",
    )

    field_order = ["first_name", "last_name", "organization_name", "organization_slug", "email"]

    def clean_organization_slug(self):
        return validate_organization_slug(self.cleaned_data["organization_slug"])

    def signup(self, request, user):
        from .services import organization_create

        user.first_name = self.cleaned_data["first_name"]
        user.last_name = self.cleaned_data["last_name"]
        user.save(update_fields=["first_name", "last_name"])
        organization_create(
            name=self.cleaned_data["organization_name"],
            slug=self.cleaned_data["organization_slug"],
            admin=user,
        )


class OrganizationSettingsForm(forms.ModelForm):
    working_days = forms.TypedMultipleChoiceField(
        choices=Organization._meta.get_field("working_days").base_field.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Rejection emails scheduled for “the next working morning” skip the other days.",
    )

    class Meta:
        model = Organization
        fields = [
            "name", "time_zone", "working_days", "default_language", "sender_name", "sender_email",
            "reply_to_email", "postal_address", "privacy_notice_url", "retention_months",
            "stale_after_working_days", "notice_limit_working_days", "message_retention_days", "open_tracking",
            "marketing_cap_days", "campaign_rate_per_minute",
            "brand_colour", "require_admin_mfa",
        ]
        widgets = {
            "postal_address": forms.Textarea(attrs={"rows": 3}),
            "brand_colour": forms.TextInput(attrs={"type": "color"}),
        }
        help_texts = {
            "sender_email": "Emails go out from this address once it is verified with your email provider.",
            "postal_address": "Printed in the footer of every marketing email.",
            "retention_months": "How long candidate data is kept after the last activity or consent.",
        }

    def clean_working_days(self):
        days = sorted(set(self.cleaned_data["working_days"]))
        if not days:
            raise forms.ValidationError("Choose at least one working day.")
        return days


class InvitationForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.RECRUITER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Where the key is used, e.g. “Greenhouse sync”.")
    scope = forms.ChoiceField(choices=ApiScope.choices, initial=ApiScope.READ)


class OrganizationDeleteForm(forms.Form):
    confirmation = forms.CharField(
        max_length=60, label="Type the organization's address to confirm",
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_confirmation(self):
        value = self.cleaned_data["confirmation"].strip()
        if value != self.organization.slug:
            raise forms.ValidationError(f"Type “{self.organization.slug}” exactly to confirm.")
        return value


class InvitationSignupForm(forms.Form):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label="Password (again)", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, email, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1:
            from .models import User

            try:
                password_validation.validate_password(
                    p1, User(email=self.email, first_name=cleaned.get("first_name", ""),
                             last_name=cleaned.get("last_name", "")))
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class SkillsField(forms.CharField):
    """Skills typed as a comma-separated list."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        from .services import normalize_skills

        return normalize_skills((value or "").split(","))

    def validate(self, value):
        from .models import SKILL_MAX_LENGTH, SKILLS_MAX_COUNT

        if len(value) > SKILLS_MAX_COUNT:
            raise forms.ValidationError(f"Keep it to {SKILLS_MAX_COUNT} skills at most.")
        too_long = [skill for skill in value if len(skill) > SKILL_MAX_LENGTH]
        if too_long:
            raise forms.ValidationError(f"Each skill must be at most {SKILL_MAX_LENGTH} characters.")


class CandidateForm(forms.ModelForm):
    skills = SkillsField(required=False, help_text="Separate skills with commas, e.g. python, django, sql.")

    class Meta:
        from .models import Candidate

        model = Candidate
        fields = [
            "first_name", "last_name", "email", "phone", "headline", "seniority", "location", "language",
            "skills", "linkedin_url", "portfolio_url", "source", "external_id", "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs["autocomplete"] = "off"
        for name in ("linkedin_url", "portfolio_url"):
            self.fields[name].assume_scheme = "https"

    def validate_unique(self):
        """The service checks uniqueness (with a link to the existing candidate)."""


class DoNotContactForm(forms.Form):
    do_not_contact = forms.BooleanField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=300, required=False, label="Reason",
                             help_text="Required: e.g. “asked not to be contacted on the phone on 3 May”.")


class ActivityNoteForm(forms.Form):
    from .models import ActivityKind

    kind = forms.ChoiceField(choices=[(ActivityKind.NOTE, "Note"), (ActivityKind.CALL, "Call"),
                                      (ActivityKind.INTERVIEW, "Interview")], initial=ActivityKind.NOTE)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="What happened?",
                           max_length=20_000)


# --- Pipeline -----------------------------------------------------------------------------

class JobForm(forms.ModelForm):
    required_skills = SkillsField(required=False, help_text="Comma-separated; used to match past candidates.")
    hiring_managers = forms.ModelMultipleChoiceField(queryset=None, required=False,
                                                     widget=forms.CheckboxSelectMultiple,
                                                     help_text="They see this job and leave feedback.")

    class Meta:
        from .models import Job

        model = Job
        fields = ["title", "department", "location", "remote", "seniority", "required_skills", "status",
                  "external_id", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, **kwargs):
        from .models import JobAssignment, Membership, User

        super().__init__(*args, **kwargs)
        self.fields["hiring_managers"].queryset = User.objects.filter(
            pk__in=Membership.objects.values("user_id")).order_by("first_name", "email")
        self.fields["hiring_managers"].label_from_instance = lambda user: f"{user.display_name} ({user.email})"
        if self.instance.pk:
            self.fields["hiring_managers"].initial = list(JobAssignment.objects.filter(
                job=self.instance, kind=JobAssignment.Kind.HIRING_MANAGER).values_list("user_id", flat=True))

    def validate_unique(self):
        """The service checks the external id."""


class VersionedForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class MoveForm(VersionedForm):
    from .models import PIPELINE_CHOICES

    stage = forms.ChoiceField(choices=PIPELINE_CHOICES)


class RejectForm(VersionedForm):
    from .models import NoticePlan

    reason = forms.ModelChoiceField(queryset=None, empty_label="Choose a reason")
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                           label="Note for the team (not sent)")
    send_email = forms.ChoiceField(
        choices=[(NoticePlan.MORNING, "Next working morning"), (NoticePlan.NOW, "Now"),
                 (NoticePlan.NONE, "Do not send")],
        initial=NoticePlan.MORNING, label="Rejection email", widget=forms.RadioSelect, required=False,
        help_text="After an interview, the email waits for a recruiter to review the feedback it carries.",
    )
    skip_reason = forms.CharField(required=False, max_length=300, label="Why no email?")

    def clean(self):
        cleaned = super().clean()
        cleaned["send_email"] = cleaned.get("send_email") or "morning"
        if cleaned.get("send_email") == "none" and not cleaned.get("skip_reason", "").strip():
            self.add_error("skip_reason", "Say why the candidate gets no email.")
        return cleaned

    def __init__(self, *args, **kwargs):
        from .models import RejectionReason

        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = RejectionReason.objects.filter(active=True)


class NoticePlanForm(VersionedForm):
    """The waiting list's action on an owed notice."""

    from .models import NoticePlan

    notice_plan = forms.ChoiceField(
        choices=[(NoticePlan.NOW, "Send now"), (NoticePlan.MORNING, "Next working morning"),
                 (NoticePlan.NONE, "No email")], label="Notice")
    skip_reason = forms.CharField(required=False, max_length=300, label="Why no email (how they were told)")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("notice_plan") == "none" and not cleaned.get("skip_reason", "").strip():
            self.add_error("skip_reason", "Say why the candidate gets no email.")
        return cleaned


class DeclineOfferForm(VersionedForm):
    from .models import OfferDeclinedReason

    reason = forms.ChoiceField(choices=[("", "Choose a reason"), *OfferDeclinedReason.choices])
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class FeedbackForm(forms.Form):
    strengths = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    improvements = forms.CharField(required=False, max_length=5000, label="Areas to improve",
                                   widget=forms.Textarea(attrs={"rows": 3}))
    note = forms.CharField(required=False, max_length=5000, label="Other notes",
                           widget=forms.Textarea(attrs={"rows": 2}))
    shareable = forms.TypedChoiceField(
        choices=[("false", "Internal only: never leaves Silverpool"),
                 ("true", "Shareable: may be sent to the candidate after a recruiter's review")],
        coerce=lambda value: value == "true", initial="false", widget=forms.RadioSelect, label="Who may read it",
    )


class FeedbackEditForm(forms.Form):
    strengths = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    improvements = forms.CharField(required=False, max_length=5000, label="Areas to improve",
                                   widget=forms.Textarea(attrs={"rows": 3}))


class CallForm(forms.Form):
    outcome = forms.CharField(max_length=120, help_text="e.g. “interested, call back in March”")
    note = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class AddToJobForm(forms.Form):
    job = forms.ModelChoiceField(queryset=None, empty_label="Choose an open job")

    def __init__(self, *args, **kwargs):
        from .models import Job, JobStatus

        super().__init__(*args, **kwargs)
        self.fields["job"].queryset = Job.objects.filter(status__in=[JobStatus.OPEN, JobStatus.ON_HOLD])


class AddCandidateToJobForm(forms.Form):
    email = forms.EmailField(label="Candidate's email", help_text="A candidate already in your talent base.")


class RejectionReasonForm(forms.Form):
    label = forms.CharField(max_length=100)
    candidate_text = forms.CharField(max_length=300, required=False, label="In the candidate's words",
                                     help_text="How a rejection email will phrase it, e.g. “we chose another "
                                               "candidate whose profile was a closer fit”.")


class RejectionReasonTextsForm(forms.Form):
    """How emails word a reason: the main wording (the organization's language) and one per language."""

    candidate_text = forms.CharField(max_length=300, required=False, label="In the candidate's words",
                                     help_text="Used by emails in your organization's language when that language "
                                               "has no wording below.")

    def __init__(self, *args, reason, **kwargs):
        initial = {"candidate_text": reason.candidate_text}
        texts = reason.candidate_texts if isinstance(reason.candidate_texts, dict) else {}
        initial.update({f"text_{code}": texts.get(code, "") for code, _ in settings.LANGUAGES})
        super().__init__(*args, initial=initial, **kwargs)
        for code, name in settings.LANGUAGES:
            self.fields[f"text_{code}"] = forms.CharField(
                max_length=300, required=False, label=f"In {name} emails",
                help_text="Empty: emails in this language leave the reason out, unless it is your organization's "
                          "language.")

    def texts(self):
        return {code: self.cleaned_data.get(f"text_{code}", "") for code, _ in settings.LANGUAGES}
