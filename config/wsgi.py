import os

from django.core.wsgi import get_wsgi_application

from config.dbpool import log_budget

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def load_before_serving():
    """Import every view and build the URL map before the first request, not during it.

    Django imports the URLconf (and with it every view module) on the first request a process
    serves. A fresh gunicorn worker hit by several requests at once would make them all wait on that
    import, and a thread that meets a module another thread is still importing can see it half
    initialized and fail. The same holds for the upload handlers a first form post loads, and for the
    task modules and the broker transport that the first `delay()` loads. Loading them here, before
    the worker accepts connections, costs start-up time only; nothing here connects to the database
    or the broker.
    """
    from django.conf import settings
    from django.urls import get_resolver
    from django.utils.module_loading import import_string

    from config.celery import app as celery_app

    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 (imports config.urls, every app's urls and views)
    resolver.reverse_dict  # noqa: B018 (builds the reverse map that reverse() and {% url %} read)
    for handler in settings.FILE_UPLOAD_HANDLERS:  # read when a request's body is first parsed
        import_string(handler)
    celery_app.loader.import_default_modules()
    connection = celery_app.connection_for_write()
    try:
        connection.transport  # noqa: B018 (loads the broker's transport class without connecting)
    finally:
        connection.release()


load_before_serving()
log_budget("web")
