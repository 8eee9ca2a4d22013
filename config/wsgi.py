import os

from django.core.wsgi import get_wsgi_application

from config.dbpool import log_budget

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
log_budget("web")
