"""The demo site plus the floor consumer at /ws/floor/<widget>/: what `streamui_load` serves."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

from channels.routing import URLRouter
from django.urls import re_path

from demo.asgi import application as demo

from .asgi_paths import FLOOR_PATH
from .floor import FloorConsumer

floor = URLRouter([re_path(r"^ws/floor/(?P<widget_id>[\w-]+)/$", FloorConsumer.as_asgi())])


async def application(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "websocket" and scope["path"].startswith("/ws/floor/"):
        return await floor(scope, receive, send)
    return await demo(scope, receive, send)


__all__ = ["FLOOR_PATH", "application"]
