"""Benchmark: the web process's memory while it receives a 49 MiB import and refuses a 60 MiB one.

    python bench/upload_memory.py [--mib 49] [--port 8917]

Starts gunicorn (one sync worker, DEBUG off) on 127.0.0.1, signs a recruiter in, and uploads a CSV
of the given size to the imports page, then opens its mapping page; a thread samples the worker's
resident memory every 5 ms. Prints the idle RSS (after a warm-up request), the peak RSS and the
difference, for the accepted file and for a file over the 50 MB limit. Target: the difference
stays under 100 MB. Uses DATABASE_URL and REDIS_URL (migrates that database first).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import setup_django  # noqa: E402

LIMIT_MB = 100


def make_csv(path, mib):
    line = "First name,Last name,Email,Notes\n"
    with open(path, "w", encoding="utf-8") as out:
        out.write(line)
        written, index = len(line), 0
        while written < mib * 2**20 - 200:
            row = f"Zoë{index},Müller,p{index}@example.org,\"A note, with a comma; and “quotes”\"\n"
            out.write(row)
            written += len(row.encode())
            index += 1


def signed_in_session():
    """A session cookie for a recruiter of a fresh organization."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from crm.services import organization_create

    stamp = str(int(time.time() * 1000))
    user = get_user_model().objects.create_user(email=f"bench-upload-{stamp}@example.org", password=None)
    organization = organization_create(name=f"Upload bench {stamp}", slug=f"upload-bench-{stamp}", admin=user)
    client = Client()
    client.force_login(user)
    return organization.slug, client.cookies["sessionid"].value


class Sampler(threading.Thread):
    def __init__(self, process):
        super().__init__(daemon=True)
        self.process, self.peak, self.running = process, 0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)


def worker_of(master):
    for _ in range(200):
        children = master.children()
        if children:
            return children[0]
        time.sleep(0.05)
    raise RuntimeError("gunicorn started no worker")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=49)
    parser.add_argument("--port", type=int, default=8917)
    args = parser.parse_args()
    setup_django()
    import psutil
    import requests
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    slug, session_id = signed_in_session()
    base = f"http://127.0.0.1:{args.port}"
    env = {**os.environ, "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "config.settings"}
    server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "--workers", "1", "--timeout", "300",
                               "--bind", f"127.0.0.1:{args.port}", "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        worker = worker_of(psutil.Process(server.pid))
        session = requests.Session()
        session.cookies.set("sessionid", session_id)
        for _ in range(100):
            try:
                session.get(f"{base}/o/{slug}/imports/", timeout=60)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        with tempfile.TemporaryDirectory() as folder:
            for label, mib in ((f"{args.mib} MiB file, imported", args.mib), ("60 MiB file, refused", 60)):
                path = Path(folder) / f"export-{mib}.csv"
                make_csv(path, mib)
                page = session.get(f"{base}/o/{slug}/imports/")  # warm: the page and its queries once
                idle = worker.memory_info().rss
                sampler = Sampler(worker)
                sampler.start()
                start = time.perf_counter()
                with open(path, "rb") as file:
                    response = session.post(f"{base}/o/{slug}/imports/", files={"file": (path.name, file, "text/csv")},
                                            data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
                                            headers={"Referer": f"{base}/o/{slug}/imports/"}, allow_redirects=True)
                seconds = time.perf_counter() - start
                sampler.running = False
                sampler.join()
                peak = sampler.peak
                body = response.text
                outcome = ("mapping page" if "/mapping/" in response.url else
                           "refused: over the limit" if "larger than" in body else f"status {response.status_code}")
                print(f"{label:28} {outcome:26} {seconds:6.1f} s   idle {idle / 2**20:6.1f} MiB   "
                      f"peak {peak / 2**20:6.1f} MiB   difference {(peak - idle) / 2**20:6.1f} MiB "
                      f"({'within' if peak - idle < LIMIT_MB * 10**6 else 'OVER'} {LIMIT_MB} MB)")
                del page
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
