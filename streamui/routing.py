from django.urls import re_path

from .consumers import ChatConsumer

WIDGET_ID_PATTERN = r"su-w[A-Za-z0-9_-]{1,40}"

websocket_urlpatterns = [
    re_path(rf"^ws/streamui/chat/(?P<widget_id>{WIDGET_ID_PATTERN})/$", ChatConsumer.as_asgi()),
]
