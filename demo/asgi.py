"""ASGI entry point: HTTP through Django, WebSockets through streamui's routes."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry loaded)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

import streamui.routing  # noqa: E402

application = ProtocolTypeRouter(
    {
        # The demo serves its own static files, so plain `daphne demo.asgi:application` works
        # too; a production site serves them from nginx or whitenoise instead.
        "http": ASGIStaticFilesHandler(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(streamui.routing.websocket_urlpatterns))
        ),
    }
)

# Everything loaded so far (Django, the app registry, templates: ~100,000 objects) lives as long as
# the process. Frozen, it leaves every later full collection: under load a process collected its
# whole heap every 2-3 s, for 250-460 ms each, while every stream waited (deploy/LOAD.md).
gc.collect()
gc.freeze()
