"""Benchmark: do sign-up, login, password reset and invitations take as long for a known email as for a new one?

    python bench/account_timing.py [--runs 15]

Through Django's test client with the production password hasher (PBKDF2, whatever the test
settings say), emails kept in memory and rate limits off, each flow is run `runs` times with an
email that has an account and as many times with one that has none, alternating. Prints both
medians, their ratio and the password hashes each way. Target: ratio within 0.9–1.1.
Uses DATABASE_URL and REDIS_URL (migrates that database first); leaves its accounts behind.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import setup_django  # noqa: E402

PASSWORD = "correct horse battery staple 7"
PRODUCTION_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]


class Counter:
    """Counts calls to the hashers' encode (checking a password encodes it too)."""

    def __init__(self):
        from django.contrib.auth import hashers

        self.calls = 0
        self.originals = {}
        for cls in (hashers.PBKDF2PasswordHasher, hashers.MD5PasswordHasher):
            self.originals[cls] = cls.encode

            def encode(hasher, *args, _original=cls.encode, **kwargs):
                self.calls += 1
                return _original(hasher, *args, **kwargs)

            cls.encode = encode

    def restore(self):
        for cls, original in self.originals.items():
            cls.encode = original


def flows(stamp):
    """{name: function(index, exists) -> request}: its set-up (not timed), then one request (timed)."""
    from django.test import Client

    from crm.models import User
    from crm.services import invitation_create, organization_create
    from crm.tenancy import organization_scope

    known = User.objects.create_user(email=f"known-{stamp}@example.org", password=PASSWORD)
    admin = User.objects.create_user(email=f"admin-{stamp}@example.org", password=PASSWORD)
    organization = organization_create(name=f"Timing {stamp}", slug=f"timing-{stamp}", admin=admin)
    admin_client = Client()
    admin_client.force_login(admin)

    def email(index, exists):
        return known.email if exists else f"new-{stamp}-{index}@example.org"

    def signup(index, exists):
        return lambda client: client.post("/accounts/signup/", {
            "first_name": "Ada", "last_name": "Lovelace", "organization_name": "Analytical",
            "organization_slug": f"t{stamp}-{index}-{int(exists)}", "email": email(index, exists),
            "password1": PASSWORD, "password2": PASSWORD})

    def login(index, exists):
        return lambda client: client.post("/accounts/login/", {"login": email(index, exists), "password": PASSWORD + "x"})

    def reset(index, exists):
        return lambda client: client.post("/accounts/password/reset/", {"email": email(index, exists)})

    def invite(index, exists):
        # A known address and a new one get the same page: the admin learns nothing about other organizations.
        address = f"invited-{stamp}-{index}@example.org"
        if exists:
            User.objects.create_user(email=address, password=None)
        return lambda client: admin_client.post(f"/o/{organization.slug}/settings/members/",
                                                {"email": address, "role": "recruiter"})

    def accept(index, exists):
        address = f"accepting-{stamp}-{index}-{int(exists)}@example.org"
        if exists:
            User.objects.create_user(email=address, password=PASSWORD)
        with organization_scope(organization):
            _, token = invitation_create(organization=organization, email=address, role="recruiter", actor=admin)
        return lambda client: client.post(f"/invite/{token}/", {"first_name": "Ada", "last_name": "Lovelace",
                                                               "password1": PASSWORD, "password2": PASSWORD})

    return {"sign-up": signup, "login (wrong password)": login, "password reset": reset,
            "invitation sent": invite, "invitation accepted": accept}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment

    call_command("migrate", verbosity=0)
    setup_test_environment()
    stamp = str(int(time.time() * 1000))
    with override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS, ACCOUNT_RATE_LIMITS=False,
                           EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
                           CELERY_TASK_ALWAYS_EAGER=True):
        counter = Counter()
        try:
            print(f"{'flow':24} {'known email':>12} {'new email':>12} {'ratio':>6}  {'hashes':>7}  statuses")
            for name, flow in flows(stamp).items():
                times, hashes, statuses = {True: [], False: []}, {True: set(), False: set()}, {True: set(),
                                                                                              False: set()}
                flow(-1, True)(Client())  # warm-up: imports, templates and caches, once
                flow(-2, False)(Client())
                for index in range(args.runs):
                    for exists in (index % 2 == 0, index % 2 != 0):
                        client, request = Client(), flow(index, exists)
                        before = counter.calls
                        started = time.perf_counter()
                        response = request(client)
                        times[exists].append(time.perf_counter() - started)
                        hashes[exists].add(counter.calls - before)
                        statuses[exists].add(response.status_code)
                known, new = statistics.median(times[True]) * 1000, statistics.median(times[False]) * 1000
                print(f"{name:24} {known:9.0f} ms {new:9.0f} ms {known / new:6.2f}  "
                      f"{'/'.join(map(str, sorted(hashes[True])))}–{'/'.join(map(str, sorted(hashes[False])))}"
                      f"  {sorted(statuses[True])} {sorted(statuses[False])}")
        finally:
            counter.restore()


if __name__ == "__main__":
    main()
