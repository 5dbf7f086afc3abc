from django.apps import AppConfig


class StreamuiConfig(AppConfig):
    name = "streamui"
    verbose_name = "streamui"
    default_auto_field = "django.db.models.BigAutoField"
