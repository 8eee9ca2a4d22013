"""Public consent pages: no login, the organization's name and colour, work without JavaScript."""

from django import forms
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from crm.models import Candidate, Organization
from crm.services import ServiceError
from crm.tenancy import organization_scope

from . import services, tokens
from .models import ConsentPurpose, ConsentState, Frequency, PendingOptIn, Source, State

JOIN_LIMIT_PER_IP = 10  # an hour
JOIN_LIMIT_PER_EMAIL = 3  # an hour


def client_ip(request):
    from allauth.core.internal.httpkit import get_client_ip  # honours the trusted proxy count

    try:
        return get_client_ip(request)
    except Exception:
        return request.META.get("REMOTE_ADDR")


def over_limit(key, limit):
    """True once `key` has been counted more than `limit` times within the hour that its first count started."""
    cache.add(key, 0, 3600)  # the window starts with the first request
    return cache.incr(key) > limit


class JoinForm(forms.Form):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(max_length=254)
    headline = forms.CharField(max_length=200, required=False, label="Current title")
    skills = forms.CharField(max_length=500, required=False, help_text="Separated by commas")
    linkedin_url = forms.URLField(max_length=300, required=False, label="LinkedIn", assume_scheme="https")
    website = forms.CharField(required=False, label="Leave this empty",
                              widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}))
    ref = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    def __init__(self, *args, purposes, language, **kwargs):
        super().__init__(*args, **kwargs)
        self.purposes = purposes
        for purpose in purposes:
            text = services.current_text(purpose, language)
            self.fields[f"consent_{purpose.key}"] = forms.BooleanField(required=False, label=text.text if text else
                                                                       purpose.get_key_display())
            if purpose.is_topic:
                self.fields[f"frequency_{purpose.key}"] = forms.ChoiceField(
                    choices=Frequency.choices, initial=services.DEFAULT_FREQUENCY.get(purpose.key, "monthly"),
                    label="How often")

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(f"consent_{p.key}") for p in self.purposes):
            raise forms.ValidationError("Tick at least one box: nothing is pre-ticked, you choose.")
        return cleaned

    def consents(self):
        return {p.key: (self.cleaned_data.get(f"frequency_{p.key}", "") if p.is_topic else "")
                for p in self.purposes if self.cleaned_data.get(f"consent_{p.key}")}


# Public pages name the organization with `public_slug`, not `org_slug`: they need no membership.
def _organization(slug):
    return get_object_or_404(Organization.objects.active(), slug=slug)


def _referrer(organization, token):
    """The candidate a referral link of this organization names; None for a bad or foreign link."""
    if not token or len(token) > 500:
        return None
    try:
        payload = tokens.read("ref", token)
    except tokens.BadToken:
        return None
    if payload.get("o") != organization.pk:
        return None
    return Candidate.objects.for_organization(organization).filter(pk=payload.get("c")).first()


def _join(request, organization, *, candidate=None, source=Source.PUBLIC_FORM, referral=None):
    language = (candidate.language if candidate else "") or organization.default_language
    referrer, ref_token = referral or (None, "")
    with organization_scope(organization):
        purposes = list(ConsentPurpose.objects.filter(active=True))
        initial = {"ref": ref_token} if referrer is not None else {}
        if candidate is not None:
            initial = {"first_name": candidate.first_name, "last_name": candidate.last_name, "email": candidate.email,
                       "headline": candidate.headline, "skills": ", ".join(candidate.skills),
                       "linkedin_url": candidate.linkedin_url}
        form = JoinForm(request.POST or None, initial=initial, purposes=purposes, language=language)
        if request.method == "POST" and form.is_valid():
            chosen = services.chosen_list(form.consents())
            if form.cleaned_data["website"]:  # a bot: the same page, nothing kept
                return render(request, "consent/public/check_inbox.html", {"organization": organization,
                                                                           "chosen": chosen})
            ip = client_ip(request)
            email = form.cleaned_data["email"].lower()
            if over_limit(f"join:ip:{ip}", JOIN_LIMIT_PER_IP):
                return render(request, "consent/public/slow_down.html", {"organization": organization}, status=429)
            if over_limit(f"join:email:{organization.pk}:{email}", JOIN_LIMIT_PER_EMAIL):
                # Counted for any address, known or not: the answer tells nothing about who is in the base.
                return render(request, "consent/public/already_sent.html", {"organization": organization},
                              status=429)
            data = {k: form.cleaned_data[k] for k in ("first_name", "last_name", "email", "headline",
                                                      "linkedin_url")}
            data["skills"] = [s.strip() for s in form.cleaned_data["skills"].split(",") if s.strip()][:50]
            data["language"] = language
            data["consents"] = form.consents()
            services.opt_in_request(organization=organization, data=data, source=source, ip_address=ip,
                                    user_agent=request.META.get("HTTP_USER_AGENT", ""), referrer=referrer)
            # The same answer whether or not the address is known.
            return render(request, "consent/public/check_inbox.html", {
                "organization": organization, "chosen": chosen})
    # The referrer's first name only: the link may travel further than the person it was given to.
    return render(request, "consent/public/join.html", {
        "organization": organization, "form": form, "candidate": candidate,
        "referrer_first_name": referrer.first_name if referrer is not None else ""},
        status=400 if form.errors else 200)


@never_cache  # personal data: no browser or proxy keeps a copy
@require_http_methods(["GET", "POST"])
def join(request, public_slug):
    organization = _organization(public_slug)
    token = request.POST.get("ref") or request.GET.get("ref") or ""
    referrer = _referrer(organization, token)
    return _join(request, organization, referral=(referrer, token) if referrer is not None else None)


def from_token(kind, token):
    """(organization, candidate, payload) of a signed personal link of `kind`; 404 for any bad link."""
    try:
        payload = tokens.read(kind, token)
    except tokens.BadToken as error:
        raise Http404("This link is not valid.") from error
    organization = Organization.objects.active().filter(pk=payload.get("o")).first()
    if organization is None:
        raise Http404("This link is not valid.")
    candidate = Candidate.objects.for_organization(organization).filter(pk=payload.get("c")).first()
    if candidate is None:
        raise Http404("This link is not valid.")
    return organization, candidate, payload


@never_cache  # personal data: no browser or proxy keeps a copy
@require_http_methods(["GET", "POST"])
def stay_in_touch(request, token):
    organization, candidate, _ = from_token("stay", token)
    return _join(request, organization, candidate=candidate, source=Source.REJECTION_LINK)


@never_cache  # personal data: no browser or proxy keeps a copy
@require_http_methods(["GET", "POST"])
def confirm(request, token):
    try:
        payload = tokens.read("confirm", token, max_age=tokens.CONFIRM_MAX_AGE)
    except tokens.BadToken as error:
        return render(request, "consent/public/confirm_problem.html", {"reason": str(error)}, status=400)
    pending = PendingOptIn.all_tenants.select_related("organization").filter(
        pk=payload.get("r"), organization_id=payload.get("o")).first()
    if pending is None or pending.organization.deletion_requested_at:
        return render(request, "consent/public/confirm_problem.html", {"reason": "invalid"}, status=400)
    organization = pending.organization
    if pending.confirmed_at is not None:
        return render(request, "consent/public/confirm_problem.html",
                      {"reason": "used", "organization": organization}, status=410)
    if request.method == "POST":
        with organization_scope(organization):
            try:
                candidate = services.opt_in_confirm(pending=pending, ip_address=client_ip(request),
                                                    user_agent=request.META.get("HTTP_USER_AGENT", ""))
            except ServiceError:
                return render(request, "consent/public/confirm_problem.html",
                              {"reason": "used", "organization": organization}, status=410)
        return render(request, "consent/public/confirmed.html", {
            "organization": organization, "prefs_token": tokens.preferences_token(candidate),
            "chosen": services.chosen_list(_still_offered(organization, pending))})
    return render(request, "consent/public/confirm.html", {
        "organization": organization, "pending": pending,
        "chosen": services.chosen_list(_still_offered(organization, pending))})


def _still_offered(organization, pending):
    """The request's choices that confirming records: purposes the organization still offers."""
    consents = pending.data.get("consents") if isinstance(pending.data, dict) else None
    if not isinstance(consents, dict):
        return {}
    with organization_scope(organization):
        active = set(ConsentPurpose.objects.filter(active=True).values_list("key", flat=True))
    return {key: value for key, value in consents.items() if key in active and isinstance(value, str)}


def _preference_rows(candidate, purposes, form, now):
    """One row per active purpose, the talent pool first: its words, its state and the form's field."""
    states = {s.purpose_id: s for s in ConsentState.objects.filter(candidate=candidate)}
    language = candidate.language or candidate.organization.default_language
    rows = []
    for purpose in purposes:
        state = states.get(purpose.pk)
        text = services.current_text(purpose, language)
        rows.append({
            "purpose": purpose, "text": text.text if text else "", "state": state,
            "active": services.in_force(state, now), "pending": state is not None and state.state == State.PENDING,
            "field": form[f"frequency_{purpose.key}" if purpose.is_topic else "talent_pool"],
        })
    rows.sort(key=lambda row: (row["purpose"].is_topic, row["purpose"].position))
    return rows


def _preferences_initial(candidate, purposes, now):
    states = {s.purpose_id: s for s in ConsentState.objects.filter(candidate=candidate)}
    initial = {}
    for purpose in purposes:
        state = states.get(purpose.pk)
        active = services.in_force(state, now)
        if purpose.is_topic:
            initial[f"frequency_{purpose.key}"] = state.frequency if active else ""
        else:
            initial["talent_pool"] = "keep" if active else "withdraw"
    return initial


@never_cache  # personal data: no browser or proxy keeps a copy
@require_http_methods(["GET", "POST"])
def preferences(request, token):
    from django.utils import timezone

    from .forms import PreferencesForm

    organization, candidate, _ = from_token("prefs", token)
    with organization_scope(organization), timezone.override(organization.time_zone):
        purposes = list(ConsentPurpose.objects.filter(active=True))
        done, form, status = "", None, 200
        if request.method == "POST":
            evidence = {"ip_address": client_ip(request), "user_agent": request.META.get("HTTP_USER_AGENT", "")}
            if request.POST.get("copy"):
                services.send_data_copy(candidate=candidate)
                return render(request, "consent/public/copy_sent.html", {"organization": organization})
            if request.POST.get("erase") == "confirm":
                from .rights import candidate_erase

                candidate_erase(candidate=candidate, actor=None, reason="the candidate's own request")
                return render(request, "consent/public/erased.html", {"organization": organization})
            if request.POST.get("erase"):
                return render(request, "consent/public/erase_confirm.html", {"organization": organization})
            if request.POST.get("renew"):
                services.renew_all(candidate=candidate)
                done = "renewed"
            elif request.POST.get("withdraw_all"):
                services.stop_every_email(candidate=candidate, source=Source.PREFERENCE_CENTRE, **evidence)
                done = "stopped"
            else:
                form = PreferencesForm(request.POST, purposes=purposes)
                if form.is_valid():
                    topics, talent_pool = form.changes()
                    try:
                        services.preferences_update(candidate=candidate, topics=topics, talent_pool=talent_pool,
                                                    **evidence)
                    except ServiceError as error:
                        form.add_error(None, error.message)
                if form.errors:
                    status = 400
                else:
                    done, form = "saved", None
        now = timezone.now()
        if form is None:
            form = PreferencesForm(initial=_preferences_initial(candidate, purposes, now), purposes=purposes)
        rows = _preference_rows(candidate, purposes, form, now)
    return render(request, "consent/public/preferences.html", {
        "organization": organization, "candidate": candidate, "rows": rows, "form": form, "done": done,
        "any_active": any(row["active"] for row in rows)}, status=status)


@never_cache  # personal data: no browser or proxy keeps a copy
@csrf_exempt  # RFC 8058 one-click: the mail client POSTs without a CSRF token; the signed link is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    organization, candidate, payload = from_token("unsub", token)
    topic = payload.get("p")
    with organization_scope(organization):
        purpose = ConsentPurpose.objects.filter(key=topic).first()
        if purpose is None:
            raise Http404("This link is not valid.")
        done = False
        if request.method == "POST":
            if request.POST.get("everything"):
                # The page promises no more emails: the talent-pool consent (re-engagement check-ins) goes too.
                services.stop_every_email(candidate=candidate, source=Source.UNSUBSCRIBE_LINK)
            else:
                services.unsubscribe(candidate=candidate, topic_key=topic)
            done = True
    return render(request, "consent/public/unsubscribe.html", {
        "organization": organization, "purpose": purpose, "done": done, "token": token,
        "everything": bool(request.POST.get("everything"))})


@require_GET
def brand_css(request, public_slug):
    organization = _organization(public_slug)
    css = f":root {{ --brand: {organization.brand_colour}; }}\n"
    response = HttpResponse(css, content_type="text/css")
    response["Cache-Control"] = "public, max-age=300"
    return response


@never_cache  # personal data: no browser or proxy keeps a copy
@require_GET
def data_copy(request, token):
    import json

    try:
        payload = tokens.read("copy", token, max_age=tokens.CONFIRM_MAX_AGE)
    except tokens.BadToken as error:
        raise Http404("This link has expired; ask for a new copy from your preferences.") from error
    organization = Organization.objects.active().filter(pk=payload.get("o")).first()
    candidate = Candidate.objects.for_organization(organization).filter(pk=payload.get("c")).first() \
        if organization else None
    if candidate is None:
        raise Http404("This link is not valid.")
    from .rights import candidate_export

    with organization_scope(organization):
        data = candidate_export(candidate)
    response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{organization.slug}-my-data.json"'
    return response
