import os

from celery import Celery
from celery.signals import beat_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("silverpool")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def log_worker_budget(**kwargs):
    from config.dbpool import log_budget

    log_budget("worker")


@beat_init.connect
def log_beat_budget(**kwargs):
    from config.dbpool import log_budget

    log_budget("beat")
