from django.urls import path

from . import observability, views

app_name = "streamui"

urlpatterns = [
    path("streams/<str:stream_id>/", views.stream_record, name="stream-record"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("metrics/", observability.metrics_view, name="metrics"),
]
