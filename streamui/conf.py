"""streamui's settings: one STREAMUI dict merged over DEFAULTS, cached.

The cache is cleared on `setting_changed`, so `override_settings(STREAMUI=...)` works
in tests. Environment variables STREAMUI_UPSTREAM_URL / _MODEL / _API_KEY and
STREAMUI_REDIS_URL fill the keys the settings dict leaves out.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict[str, Any] = {
    # Upstream. With UPSTREAM_URL set, the OpenAI-compatible server is the default.
    "UPSTREAM_URL": None,
    "UPSTREAM_MODEL": "gpt-4o-mini",
    "UPSTREAM_API_KEY": None,
    "UPSTREAM_CALLABLE": None,  # dotted path to an async generator (prompt, conversation) -> events
    "UPSTREAM_CONNECT_TIMEOUT": 10.0,
    "UPSTREAM_IDLE_TIMEOUT": 60.0,
    "DEFAULT_UPSTREAM": None,  # None: "openai" when UPSTREAM_URL is set, else "simulated:<profile>"
    "SIMULATED_PROFILE": "bursty",
    "SIMULATED_SPEED": 1.0,
    # Trace files (JSON lines, docs/ARCHITECTURE.md) the simulated upstream can replay: "trace:<file stem>".
    "REPLAY_TRACES": [],
    "MAX_TOKENS": 1024,
    # Conversation.
    "SYSTEM_PROMPT": "You are a helpful assistant. Answer clearly and concisely.",
    "HISTORY_MESSAGES": 20,
    "INTERRUPTED_NOTE": "[This answer was interrupted before it finished.]",
    # Input limits.
    "MAX_PROMPT_CHARS": 8000,
    "MAX_MESSAGE_BYTES": 64 * 1024,
    # Smoothing: the default strategy, and an optional A/B experiment {strategy name: weight}.
    "SMOOTHING": "adaptive",
    "AB_ARMS": {},
    # The per-arm dashboard is for staff; True opens it to everyone (the demo does).
    "DASHBOARD_PUBLIC": False,
    # /streamui/metrics/ is for loopback and staff; True opens it to everyone.
    "METRICS_PUBLIC": False,
    # The commit stage: correction policy (replace, annotate, passthrough) and hold limits.
    "COMMIT_POLICY": "replace",
    "COMMIT_HOLD_MS": 340.0,
    "COMMIT_HOLD_CHARS": 200,
    # The phrases that open a self-correction (None: streamui's list), and an optional
    # A/B experiment over correction policies {policy name: weight}.
    "CORRECTION_OPENERS": None,
    "POLICY_ARMS": {},
    # Live figures pushed to the playground, at most this often (seconds).
    "FIGURES_INTERVAL": 0.2,
    # Record each live stream as a trace file under this folder (None: off).
    "RECORD_TRACES_DIR": None,
    "REDIS_URL": None,
    # A stream whose client has gone keeps generating this long, so the user can come back.
    "DISCONNECT_GRACE": 15.0,
    # Per-session limits: streams running at once, and starts per minute.
    "MAX_CONCURRENT_STREAMS": 3,
    "MAX_STARTS_PER_MINUTE": 30,
    # "websocket" or "sse": how the widget talks to the server ("auto": WebSocket, SSE as fallback).
    "TRANSPORT": "auto",
}

_ENV = {
    "UPSTREAM_URL": "STREAMUI_UPSTREAM_URL",
    "UPSTREAM_MODEL": "STREAMUI_UPSTREAM_MODEL",
    "UPSTREAM_API_KEY": "STREAMUI_UPSTREAM_API_KEY",
    "UPSTREAM_CALLABLE": "STREAMUI_UPSTREAM_CALLABLE",
    "REDIS_URL": "STREAMUI_REDIS_URL",
}


@lru_cache(maxsize=1)
def get_config() -> dict[str, Any]:
    user = getattr(settings, "STREAMUI", {}) or {}
    unknown = set(user) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown STREAMUI settings: {', '.join(sorted(unknown))}")
    config = dict(DEFAULTS)
    for key, env in _ENV.items():
        if os.environ.get(env):
            config[key] = os.environ[env]
    config.update(user)
    return config


@receiver(setting_changed)
def _clear_cache(*, setting: str, **kwargs: Any) -> None:
    if setting == "STREAMUI":
        get_config.cache_clear()


__all__ = ["DEFAULTS", "get_config"]
