"""streamui's settings: the site's `STREAMUI` dict, read once into a frozen, typed `Settings`.

`get_settings()` builds it on first use and caches it; the cache is cleared on
`setting_changed`, so `override_settings(STREAMUI=...)` works in tests. Every key is
validated by `problems()`, which the system checks (streamui/checks.py, ids streamui.E001...)
report at startup; `get_settings()` refuses a dict with errors with the same messages.

The app reads no environment variables: a site (like the demo) reads its own and puts them
into `STREAMUI`. The README's settings table is generated from `SETTINGS` below.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
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
    # Issue 13 (reliability): crash-safety, liveness and resource bounds.
    "STREAM_LEASE": 6.0,  # seconds a running stream's record lives unless its worker renews it (every 1/3)
    "PERSIST_INTERVAL": 1.0,  # the shown answer is written to the database at least this often (seconds)
    "MAX_ANSWER_CHARS": 200_000,  # local cap on answer + reasoning characters (the answer ends "cut off")
    "HISTORY_MAX_TOKENS": 16_000,  # earlier turns sent upstream, newest first, up to this many tokens
    "JOURNAL_RETAIN_SECONDS": 120.0,  # a finished stream stays replayable from memory this long
    "MAX_FRAMES_PER_SECOND": 20.0,  # incoming WebSocket frames per socket (burst: twice this); more closes it
    "MAX_SEND_BYTES_PER_10S": 16 * 1024 * 1024,  # a socket sent more in 10 s is not reading: closed
    "MAX_NEW_PER_MINUTE": 10,  # new conversations per owner per minute
    "MAX_SOCKETS_PER_SESSION": 10,  # open chat sockets per owner per process
    "MAX_CONCURRENT_PER_ADDRESS": 12,  # streams at once per client address (across sessions)
    "ALLOWED_ORIGINS": [],  # extra WebSocket origins (scheme://host[:port]) besides the page's own
}

_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
assert set(_FIELDS) == {key.lower() for key in SETTINGS}, "every setting has one field and one spec"


def default_of(key: str) -> Any:
    spec = _FIELDS[key.lower()]
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return spec.default


def user_settings() -> Mapping[str, Any]:
    value = getattr(django_settings, "STREAMUI", None)
    return value if value is not None else {}


def problems(user: Any) -> list[Problem]:
    """Everything wrong with a `STREAMUI` dict on its own (no imports of dotted paths)."""
    if not isinstance(user, Mapping):
        return [Problem("E001", "STREAMUI", f"STREAMUI must be a dict, not {type(user).__name__}")]
    found: list[Problem] = []
    for key, value in user.items():
        spec = SETTINGS.get(key) if isinstance(key, str) else None
        if spec is None:
            close = difflib.get_close_matches(str(key), SETTINGS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else " (known: see the README's settings table)"
            found.append(Problem("E001", str(key), f"STREAMUI[{key!r}] is not a streamui setting{hint}"))
            continue
        if value is None and spec.nullable:
            continue
        if not isinstance(value, spec.kind) or (isinstance(value, bool) and spec.kind is not bool):
            wanted = spec.kind.__name__ if isinstance(spec.kind, type) else " or ".join(k.__name__ for k in spec.kind)
            nullable = " or None" if spec.nullable else ""
            found.append(Problem("E002", key, f"STREAMUI[{key!r}] must be {wanted}{nullable}, not "
                                              f"{type(value).__name__} ({value!r:.60})"))
            continue
        message = spec.check(value) if spec.check else None
        if message:
            found.append(Problem("E003", key, f"STREAMUI[{key!r}] {message}"))
    return found


def build(user: Mapping[str, Any]) -> Settings:
    """A `Settings` from a `STREAMUI` dict that has no `problems()`."""
    values: dict[str, Any] = {}
    for key, value in user.items():
        name = key.lower()
        if key == "UPSTREAMS":
            value = {n: UpstreamConfig(backend=e["BACKEND"], options=dict(e.get("OPTIONS", {})),
                                       label=e.get("LABEL", "")) for n, e in value.items()}
        elif key in ("REPLAY_TRACES", "CORRECTION_OPENERS") and value is not None:
            value = tuple(value)
        elif key in ("AB_ARMS", "POLICY_ARMS", "STRATEGIES", "POLICIES"):
            value = dict(value)
        elif _FIELDS[name].type in ("float",) and value is not None:
            value = float(value)
        values[name] = value
    return Settings(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    user = user_settings()
    errors = [p for p in problems(user) if not p.warning]
    if errors:
        raise ImproperlyConfigured("; ".join(p.message for p in errors) + " (run `manage.py check` for all of them)")
    return build(user)


@receiver(setting_changed)
def _clear_cache(*, setting: str, **kwargs: Any) -> None:
    if setting == "STREAMUI":
        get_settings.cache_clear()
        from .extensions import register_from_settings

        register_from_settings()


__all__ = ["SETTINGS", "TRANSPORTS", "Problem", "Settings", "UpstreamConfig", "default_of", "get_settings", "problems"]
