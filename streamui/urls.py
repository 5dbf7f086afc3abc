from django.urls import path

from . import views

app_name = "streamui"

urlpatterns = [
    path("streams/<str:stream_id>/", views.stream_record, name="stream-record"),
    path("dashboard/", views.dashboard, name="dashboard"),
]
