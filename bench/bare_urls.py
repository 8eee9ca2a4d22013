"""The webhook benchmark's baseline: a bare Django view that parses the JSON body and answers 200.

Served by gunicorn as `bench.bare_urls:wsgi_application()`: the same settings, middleware and
gunicorn command as the product's web process, with this module as ROOT_URLCONF (importing the
module alone changes no setting). Its one route has the
provider webhooks' paths, so the benchmark posts the very same requests to it. The product's own
URLconf has no such route.
"""

import json
import os

from django.http import HttpResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def parse_only(request, provider):
    json.loads(request.body.decode("utf-8"))
    return HttpResponse(status=200)


urlpatterns = [re_path(r"^webhooks/anymail/(?P<provider>[\w-]+)/tracking/$", parse_only)]


def wsgi_application():
    """The WSGI application with this module as its URLconf (gunicorn calls it once per worker)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    settings.ROOT_URLCONF = __name__
    return get_wsgi_application()

