import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, **env):
    environ = {**os.environ, **env}
    environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests, refused in deployment
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=120)


def test_production_mode_passes_the_deploy_checks_without_warnings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", SILVERPOOL_ENV="production",
                        SECRET_KEY="k" * 20 + "Zq8#mT2!vX9@pL4$wR7^nB1&cF6*hJ3(", ALLOWED_HOSTS="crm.example.com",
                        EMAIL_PROVIDER="postmark", ANYMAIL_WEBHOOK_SECRET="hook:secret",
                        SUPPRESSION_HASH_KEY="s" * 20 + "Hq3#uV8!cM1@rT6$yK0^wZ5&", SITE_URL="https://crm.example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = run_manage("check", SILVERPOOL_ENV="production", SECRET_KEY="", ALLOWED_HOSTS="crm.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_production_mode_refuses_to_start_without_allowed_hosts():
    result = run_manage("check", SILVERPOOL_ENV="production", SECRET_KEY="x" * 60, ALLOWED_HOSTS="")
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is required" in result.stderr


def test_pages_carry_a_strict_content_security_policy(client, db):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "<script>" not in response.content.decode()  # no inline script anywhere in the layout
