from django.urls import path

from . import observability, sse, views

app_name = "streamui"

urlpatterns = [
    path("streams/<str:stream_id>/", views.stream_record, name="stream-record"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("send/<str:widget_id>/", sse.send_view, name="sse-send"),
    path("stop/", sse.stop_view, name="sse-stop"),
    path("new/<str:widget_id>/", sse.new_view, name="sse-new"),
    path("sse/<str:stream_id>/", sse.events_view, name="sse-events"),
    path("metrics/", observability.metrics_view, name="metrics"),
]
