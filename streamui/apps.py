from django.apps import AppConfig


class StreamuiConfig(AppConfig):
    name = "streamui"
    verbose_name = "streamui"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .extensions import register_from_settings

        register_from_settings()
