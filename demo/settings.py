"""Settings of the demo site: the playground around the streamui app."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-not-secret-streamui-playground")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")

INSTALLED_APPS = [
    "daphne",  # makes `manage.py runserver` serve ASGI (HTTP + WebSocket)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "streamui",
    "tools",  # the repository's benchmarks and load generator (manage.py commands); not part of the app
]

MIDDLEWARE = [
    # GZip on purpose: the SSE transport must get through it unbuffered.
    "django.middleware.gzip.GZipMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "demo.middleware.content_security_policy",  # strict CSP: the widget needs no inline script
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo.urls"
ASGI_APPLICATION = "demo.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "demo" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    {
        # A Jinja2 page too, to show the widget works from either engine.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "demo" / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "streamui.jinja2_env.environment"},
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("STREAMUI_DB", str(BASE_DIR / "db.sqlite3")),
        # WAL: a stream's checkpoint and the page loads do not wait for each other, and a commit costs one
        # write to the log instead of a rollback journal's create, write, sync and delete (issue 9).
        "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"},
    }
}

# One process: the in-memory layer. Several processes: Redis, which also holds the streams' journals.
REDIS_URL = os.environ.get("STREAMUI_REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                  "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

SESSION_ENGINE = "django.contrib.sessions.backends.db"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "demo" / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"

# The app reads no environment variables; the demo site does, so `make run` and the playground
# can point at a real model: STREAMUI_UPSTREAM_URL, _MODEL, _API_KEY, _CALLABLE and STREAMUI_REDIS_URL.
_FROM_ENV = {
    "UPSTREAM_URL": os.environ.get("STREAMUI_UPSTREAM_URL"),
    "UPSTREAM_MODEL": os.environ.get("STREAMUI_UPSTREAM_MODEL"),
    "UPSTREAM_API_KEY": os.environ.get("STREAMUI_UPSTREAM_API_KEY"),
    "UPSTREAM_CALLABLE": os.environ.get("STREAMUI_UPSTREAM_CALLABLE"),
    "REDIS_URL": REDIS_URL,
}

STREAMUI = {
    **{key: value for key, value in _FROM_ENV.items() if value},
    "SIMULATED_SPEED": float(os.environ.get("STREAMUI_SIMULATED_SPEED", "1.0")),
    # Answer length cap; the load generator and the proxy tests set it to bound their streams.
    "MAX_TOKENS": int(os.environ.get("STREAMUI_MAX_TOKENS", "1024")),
    # The playground runs an experiment: half the visitors get the jitter buffer.
    "AB_ARMS": {"passthrough": 1, "adaptive": 1},
    "DASHBOARD_PUBLIC": True,
    # Real GPT-4o timing (bench/traces/gpt4o, MIT) in the upstream picker: the longest pauses of the capture.
    "REPLAY_TRACES": [str(BASE_DIR / "bench" / "traces" / "gpt4o" / f"{name}.jsonl")
                      for name in ("gpt4o-129", "gpt4o-174", "gpt4o-003")],
}

# The load generator caps a process's streams through the environment (MAX_STREAMS_PER_PROCESS).
if os.environ.get("STREAMUI_MAX_STREAMS_PER_PROCESS"):
    STREAMUI["MAX_STREAMS_PER_PROCESS"] = int(os.environ["STREAMUI_MAX_STREAMS_PER_PROCESS"])
if os.environ.get("STREAMUI_OVERLOAD_LAG_MS"):
    STREAMUI["OVERLOAD_LAG_MS"] = float(os.environ["STREAMUI_OVERLOAD_LAG_MS"])
if os.environ.get("STREAMUI_MIN_FRAME_RATE"):
    STREAMUI["MIN_FRAME_RATE"] = float(os.environ["STREAMUI_MIN_FRAME_RATE"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"streamui": {"handlers": ["console"], "level": os.environ.get("STREAMUI_LOG_LEVEL", "INFO")}},
}
