from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.playground, name="playground"),
    path("jinja/", views.jinja_page, name="jinja-page"),
    path("streamui/", include("streamui.urls")),
    path("admin/", admin.site.urls),
]
