"""A web process is ready before it serves: its first requests import nothing of the product.

Django imports the URLconf, and with it every view, on the first request a process serves; the first
`delay()` loads the task modules and the broker's transport. A fresh gunicorn worker met by a burst
made every request wait on those imports (17 to 22 s each on a loaded machine), and a thread that
meets a module another thread is still importing can see it half initialized and answer 500.
config/wsgi.py loads them before the worker accepts a connection.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]

# Loads the WSGI module as gunicorn does, then serves requests refused before any query (Redis is unreachable
# here, and PostgreSQL only opens and closes each request's transaction): each answer and the product
# modules the requests imported are printed.
PROBE = """
import json, sys
import config.wsgi
from django.test import Client

PRODUCT = ("config", "crm", "consent", "outreach", "talentpools", "imports", "celery", "kombu", "boto3")
before = set(sys.modules)
client = Client(raise_request_exception=False)
answers = [
    client.get("/api/v1/me/").status_code,
    client.post("/webhooks/anymail/postmark/tracking/", data="{}", content_type="application/json").status_code,
    client.post("/webhooks/anymail/mailgun/inbound/", data={}).status_code,
]
loaded = sorted(name for name in set(sys.modules) - before if name.split(".")[0] in PRODUCT)
print(json.dumps({"answers": answers, "loaded": loaded}))
"""


def test_the_first_requests_of_a_web_process_import_nothing_of_the_product():
    server = urlsplit(os.environ["DATABASE_URL"])
    environ = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    environ.update(
        DJANGO_SETTINGS_MODULE="config.settings", PYTHONPATH=str(ROOT), ANYMAIL_WEBHOOK_SECRET="hook:secret",
        DATABASE_URL=urlunsplit(server._replace(path="/postgres")), REDIS_URL="redis://127.0.0.1:9/0",
        DB_POOL="false",
    )
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=environ, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["answers"] == [401, 401, 401], report
    assert report["loaded"] == [], f"imported on the first requests: {report['loaded']}"
