from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("streamui/", include("streamui.urls")),
    path("", TemplateView.as_view(template_name="chat.html")),
]
