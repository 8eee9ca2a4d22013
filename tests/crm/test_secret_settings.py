"""Production secrets and links: what an operator sees at start and in `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import anymail_value

ROOT = Path(__file__).resolve().parents[2]
SECRET = "k" * 20 + "Zq8#mT2!vX9@pL4$wR7^nB1&cF6*hJ3("
HASH_KEY = "s" * 20 + "Hq3#uV8!cM1@rT6$yK0^wZ5&"
PRODUCTION = {"SILVERPOOL_ENV": "production", "SECRET_KEY": SECRET, "ALLOWED_HOSTS": "crm.example.com",
              "EMAIL_PROVIDER": "postmark", "ANYMAIL_WEBHOOK_SECRET": "hook:secret",
              "SUPPRESSION_HASH_KEY": HASH_KEY, "SITE_URL": "https://crm.example.com"}


def run_manage(*args, **env):
    environ = {**os.environ, **PRODUCTION, **env}
    environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests, refused in deployment
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", ["SUPPRESSION_HASH_KEY", "SITE_URL"])
def test_production_refuses_to_start_without(name):
    result = run_manage("check", **{name: ""})
    assert result.returncode != 0
    assert f"{name} is required when SILVERPOOL_ENV=production" in result.stderr


def test_deploy_checks_refuse_a_suppression_key_derived_from_the_secret_key():
    result = run_manage("check", "--deploy", SUPPRESSION_HASH_KEY=SECRET + ":suppression")
    assert result.returncode != 0
    assert "silverpool.E002" in result.stderr


def test_deploy_checks_warn_about_a_plain_http_or_unknown_site_url():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", SITE_URL="http://links.example.org")
    assert result.returncode != 0
    assert "silverpool.W005" in result.stderr and "silverpool.W006" in result.stderr


def test_anymail_environment_values_are_typed():
    code = "from django.conf import settings; print(repr(sorted(settings.ANYMAIL.items())))"
    result = run_manage("shell", "-c", code, ANYMAIL_SEND_DEFAULTS='{"track_opens": false}',
                        ANYMAIL_IGNORE_UNSUPPORTED_FEATURES="false", ANYMAIL_REQUESTS_TIMEOUT="2.5",
                        ANYMAIL_POSTMARK_SERVER_TOKEN="0123-abc")
    assert result.returncode == 0, result.stderr
    assert ("('IGNORE_UNSUPPORTED_FEATURES', False)" in result.stdout
            and "('REQUESTS_TIMEOUT', 2.5)" in result.stdout
            and "('SEND_DEFAULTS', {'track_opens': False})" in result.stdout
            and "('POSTMARK_SERVER_TOKEN', '0123-abc')" in result.stdout), result.stdout


@pytest.mark.parametrize(("text", "value"), [
    ("true", True), ("Yes", True), ("ON", True), ("false", False), ("no", False), ("off", False),
    ("30", 30), ("-2", -2), ("2.5", 2.5), (".5", 0.5),
    ('{"track_clicks": false}', {"track_clicks": False}), ('["a", 1]', ["a", 1]),
    ("pm-token-123", "pm-token-123"), ("0123", "0123"), ("1e3", "1e3"), ("key-3ax6xnjp29jd6fds4gc373sgvjxteol0",
                                                                       "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"),
])
def test_anymail_value(text, value):
    parsed = anymail_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_anymail_value_refuses_broken_json():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        anymail_value("{track_clicks: no}")


def test_make_run_sends_links_to_the_port_it_serves(monkeypatch):
    from config import launcher

    class Started(Exception):
        pass

    seen = {}

    def manage(environ, *args, **kwargs):
        seen.update(environ)
        raise Started

    monkeypatch.setattr(launcher, "manage", manage)
    with pytest.raises(Started):
        launcher.run({"PORT": "8123"})
    assert seen["SITE_URL"] == "http://127.0.0.1:8123"
    with pytest.raises(Started):
        launcher.run({"PORT": "8123", "SITE_URL": "https://crm.example.com"})
    assert seen["SITE_URL"] == "https://crm.example.com"
