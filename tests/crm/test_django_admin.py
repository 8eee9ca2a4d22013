"""The operators' Django admin: signed in through allauth (MFA, rate limits), every model usable."""

import importlib
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core import mail
from django.core.validators import MaxLengthValidator
from django.db import models, transaction
from django.test import Client, override_settings
from django.urls import clear_url_caches, get_resolver, reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from crm.models import Role
from crm.services import invitation_create

from ..factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def superuser(db):
    return UserFactory(email="operator@silverpool.test", is_staff=True, is_superuser=True)


def _totp_for(user):
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def _code(secret):
    return f"{hotp_value(secret, next(yield_hotp_counters_from_time())):06d}"


def _signed_in(client):
    return "_auth_user_id" in client.session


# --- Signing in --------------------------------------------------------------------------------


def test_the_admin_has_no_password_form_of_its_own(superuser):
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": superuser.email, "password": PASSWORD})
    assert not _signed_in(client)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    page = client.get("/admin/", follow=True)
    assert page.redirect_chain[-1][0] == "/accounts/login/?next=/admin/"
    assert "Site administration" not in page.content.decode()


def test_wrong_passwords_for_the_admin_meet_the_login_rate_limit(superuser):
    client = Client()
    login_url = client.get("/admin/", follow=True).redirect_chain[-1][0]
    for _ in range(5):
        client.post(login_url, {"login": superuser.email, "password": "wrong"})
    response = client.post(login_url, {"login": superuser.email, "password": PASSWORD})
    assert "too many" in response.content.decode().lower()
    assert not _signed_in(client)
    assert client.get("/admin/").status_code == 302


def test_a_totp_operator_reaches_the_admin_only_after_the_totp_step(superuser):
    secret = _totp_for(superuser)
    client = Client()
    login_url = client.get("/admin/", follow=True).redirect_chain[-1][0]
    response = client.post(login_url, {"login": superuser.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert not _signed_in(client)
    assert client.get("/admin/crm/apikey/").status_code == 302
    response = client.post("/accounts/2fa/authenticate/", {"code": _code(secret)})
    assert response["Location"] == "/admin/"
    page = client.get("/admin/crm/apikey/")
    assert page.status_code == 200 and "Select api key to change" in page.content.decode()


def test_a_totp_operator_signed_in_by_password_alone_is_asked_for_the_code(superuser):
    secret = _totp_for(superuser)
    client = Client()
    client.force_login(superuser)  # a session that never passed the second factor
    page = client.get("/admin/crm/membership/", follow=True)
    assert page.redirect_chain[-1][0].startswith(reverse("mfa_reauthenticate"))
    assert "Select membership to change" not in page.content.decode()
    response = client.post(page.redirect_chain[-1][0], {"code": _code(secret)})
    assert response["Location"] == "/admin/crm/membership/"
    assert client.get("/admin/crm/membership/").status_code == 200


def test_an_operator_without_totp_signs_in_with_the_password(superuser):
    client = Client()
    response = client.post("/accounts/login/?next=/admin/", {"login": superuser.email, "password": PASSWORD})
    assert response["Location"] == "/admin/"
    assert "Site administration" in client.get("/admin/").content.decode()


@pytest.mark.django_db
def test_a_superuser_from_createsuperuser_confirms_the_address_then_reaches_the_admin():
    from crm.models import User

    User.objects.create_superuser("root@silverpool.test", PASSWORD)
    client = Client()
    response = client.post("/accounts/login/?next=/admin/", {"login": "root@silverpool.test", "password": PASSWORD})
    assert not _signed_in(client) and response.status_code == 302
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    path = urlsplit(link).path
    client.post(path)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/password_change/")["Location"] == reverse("account_change_password")


def test_members_who_are_not_staff_are_refused(tenant_a):
    response = tenant_a.admin_client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert "Site administration" not in response.content.decode()
    assert tenant_a.admin_client.get("/admin/crm/apikey/", follow=True).status_code == 403


# --- ADMIN_ENABLED and ADMIN_URL -------------------------------------------------------------


@pytest.fixture
def reload_urls():
    """Rebuilds the URL configuration under the test's settings, and restores it afterwards."""
    import config.urls

    def reload():
        importlib.reload(config.urls)
        clear_url_caches()

    yield reload
    reload()


def test_a_disabled_admin_answers_404(superuser, reload_urls):
    client = Client()
    client.force_login(superuser)
    with override_settings(ADMIN_ENABLED=False):
        reload_urls()
        assert client.get("/admin/").status_code == 404
        assert client.post("/admin/login/", {"username": superuser.email, "password": PASSWORD}).status_code == 404


def test_the_admin_moves_to_admin_url(superuser, reload_urls):
    client = Client()
    client.force_login(superuser)
    with override_settings(ADMIN_URL="ops-desk/"):
        reload_urls()
        assert client.get("/ops-desk/").status_code == 200
        assert client.get("/admin/").status_code == 404


def _settings_value(name, **env):
    environ = {**os.environ, **env}
    environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c",
                             f"from django.conf import settings; print(settings.{name})"],
                            cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_admin_is_off_in_production_unless_enabled():
    production = {"SILVERPOOL_ENV": "production", "SECRET_KEY": "s" * 50, "ALLOWED_HOSTS": "crm.example.com",
                  "SUPPRESSION_HASH_KEY": "h" * 50, "SITE_URL": "https://crm.example.com",
                  "EMAIL_PROVIDER": "postmark", "ANYMAIL_WEBHOOK_SECRET": "hook:secret"}
    assert _settings_value("ADMIN_ENABLED", **production, ADMIN_ENABLED="") == "False"
    assert _settings_value("ADMIN_ENABLED", **production, ADMIN_ENABLED="true") == "True"


def test_the_isolation_table_follows_admin_url(reload_urls):
    from tests.isolation import routes
    from tests.isolation.test_routes import walk

    try:
        with override_settings(ADMIN_URL="ops-desk/"):
            reload_urls()
            importlib.reload(routes)
            patterns = list(walk(get_resolver().url_patterns))
            assert any(route.startswith("ops-desk/") for route, _ in patterns)
            unknown = [route for route, name in patterns if name not in routes.ROUTES
                       and not any(route.startswith(prefix) for prefix in routes.NOT_TENANT_PREFIXES)]
            assert not unknown
    finally:
        importlib.reload(routes)


# --- Every registered model ----------------------------------------------------------------------


class _FormFields(HTMLParser):
    """What a browser would submit from the admin's change form: (name, value) pairs."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.pairs = form_id, False, []
        self._select, self._options, self._textarea = None, [], None
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside:
            return
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind in {"submit", "button", "image", "file", "reset"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                return
            self.pairs.append((attrs["name"], attrs.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self._select, self._options = attrs, []
        elif tag == "option" and self._select is not None:
            self._options.append((attrs.get("value", ""), "selected" in attrs))
        elif tag == "textarea":
            self._textarea = [attrs["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected]
            if not chosen and "multiple" not in self._select and self._options:
                chosen = [self._options[0][0]]
            self.pairs += [(self._select["name"], value) for value in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.pairs.append((self._textarea[0], self._textarea[1].removeprefix("\n")))
            self._textarea = None


def _form_data(html, model):
    parser = _FormFields(f"{model._meta.model_name}_form")
    parser.feed(html)
    data = {}
    for name, value in parser.pairs:
        data.setdefault(name, []).append(value)
    return data, parser.ids


def _an_edit(model, data, ids):
    """(field name, new value): a plain text field gets a suffix, else a choice or a yes/no flips.

    None when the model has no field of those kinds: the form's initial data is saved as it is.
    """
    plain = [f for f in model._meta.concrete_fields
             if type(f) in (models.CharField, models.TextField) and not f.choices and f.name in data
             and all(isinstance(v, MaxLengthValidator) for v in f.validators)]
    for field in sorted(plain, key=lambda f: f.unique):
        return field.name, data[field.name][0][: (field.max_length or 100) - 7] + " edited"
    for field in model._meta.concrete_fields:
        if field.choices and field.name in data:
            current = data[field.name][0]
            return field.name, next(str(choice) for choice, _ in field.flatchoices if str(choice) != current)
    for field in model._meta.concrete_fields:
        if isinstance(field, models.BooleanField) and field.editable and f"id_{field.name}" in ids:
            return field.name, field.name not in data
    return None


@pytest.fixture
def operator(tenant_a, superuser):
    """A signed-in superuser, and at least one row of every kind the admin shows."""
    with tenant_a.scope():
        invitation_create(organization=tenant_a.organization, email="new@acme.test", role=Role.RECRUITER,
                          actor=tenant_a.admin)
    TOTP.activate(tenant_a.recruiter, generate_totp_secret()).instance.record_usage()
    Group.objects.create(name="Support")
    every_minute = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="Nightly digest", task="outreach.tasks.example", interval=every_minute)
    CrontabSchedule.objects.create(minute="0", hour="3")
    SolarSchedule.objects.create(event="sunrise", latitude=52.5, longitude=13.4)
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    client = Client()
    client.force_login(superuser)
    return client


def _check_every_page(client, request, model, model_admin):
    url = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
    obj = model._base_manager.order_by("pk").first()
    assert obj is not None, "no row to open: create one in the `operator` fixture"

    assert client.get(reverse(url + "changelist")).status_code == 200
    if model_admin.search_fields:
        assert client.get(reverse(url + "changelist"), {"q": "a"}).status_code == 200
    add = client.get(reverse(url + "add"))
    assert add.status_code == (200 if model_admin.has_add_permission(request) else 403)
    assert client.get(reverse(url + "history", args=[obj.pk])).status_code == 200

    change_url = reverse(url + "change", args=[obj.pk])
    change = client.get(change_url)
    assert change.status_code == 200
    data, ids = _form_data(change.content.decode(), model)
    if model_admin.has_change_permission(request, obj):
        edit = _an_edit(model, data, ids)
        if edit:
            name, value = edit
            if isinstance(value, bool):
                data.pop(name, None)
                data.update({name: ["on"]} if value else {})
            else:
                data[name] = [value]
        response = client.post(change_url, data)
        assert response.status_code == 302, f"the change form answered {response.status_code}: " + "; ".join(
            str(errors) for errors in (response.context or {}).get("errors", []))
        if edit:
            saved = getattr(model._base_manager.get(pk=obj.pk), name)
            assert (saved if isinstance(value, bool) else str(saved)) == value, f"{name} was not saved"
    else:
        assert client.post(change_url, data).status_code == 403

    delete_url = reverse(url + "delete", args=[obj.pk])
    if not model_admin.has_delete_permission(request, obj):
        assert client.get(delete_url).status_code == 403
        return
    page = client.get(delete_url)
    assert page.status_code == 200
    refused = page.context["perms_lacking"] or page.context["protected"]
    response = client.post(delete_url, {"post": "yes"})
    # Deleting what would take rows the admin may not delete (the audit log) is refused, never half done.
    assert response.status_code == (403 if refused else 302)
    assert model._base_manager.filter(pk=obj.pk).exists() == bool(refused)


def test_every_registered_model_opens_saves_and_deletes_in_the_admin(operator, superuser, rf):
    """Changelist, search, add, history, change (the form's own data saved, one field edited), delete."""
    request = rf.get("/")
    request.user = superuser
    failures = []
    for model, model_admin in admin.site._registry.items():
        try:
            with transaction.atomic():  # each model starts from the same rows, whatever the others deleted
                _check_every_page(operator, request, model, model_admin)
                transaction.set_rollback(True)
        except Exception as error:  # noqa: BLE001  (a 500 raises in the test client: report every model)
            failures.append(f"{model._meta.label}: {error!r}")
    assert not failures, "\n".join(failures)
