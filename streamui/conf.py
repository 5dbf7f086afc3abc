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
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from .conf_checks import (
    Problem,
    Spec,
    choice,
    dotted_paths,
    not_negative,
    positive,
    redis_url,
    strings,
    upstreams,
    url,
    weights,
)

TRANSPORTS = ("auto", "websocket", "sse")


@dataclass(frozen=True, kw_only=True, slots=True)
class UpstreamConfig:
    """One named upstream: a dotted path to a class implementing `streamui.Upstream`,
    called with `**options` (Django's BACKEND/OPTIONS idiom, as in CACHES and STORAGES)."""

    backend: str
    options: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The validated `STREAMUI` settings; attribute names are the keys in lower case."""

    upstream_url: str | None = None
    upstream_model: str = "gpt-4o-mini"
    upstream_api_key: str | None = None
    upstream_callable: str | None = None
    upstream_connect_timeout: float = 10.0
    upstream_idle_timeout: float = 60.0
    upstream_implied_think: bool = False
    upstreams: Mapping[str, UpstreamConfig] = field(default_factory=dict)
    default_upstream: str | None = None
    simulated_profile: str = "bursty"
    simulated_speed: float = 1.0
    replay_traces: tuple[str, ...] = ()
    max_tokens: int = 1024
    system_prompt: str = "You are a helpful assistant. Answer clearly and concisely."
    history_messages: int = 20
    interrupted_note: str = "[This answer was interrupted before it finished.]"
    max_prompt_chars: int = 8000
    max_message_bytes: int = 64 * 1024
    smoothing: str = "adaptive"
    ab_arms: Mapping[str, float] = field(default_factory=dict)
    strategies: Mapping[str, str] = field(default_factory=dict)
    dashboard_public: bool = False
    metrics_public: bool = False
    commit_policy: str = "replace"
    commit_hold_ms: float = 340.0
    commit_hold_chars: int = 200
    commit_first_hold_ms: float = 100.0
    correction_openers: tuple[str, ...] | None = None
    policy_arms: Mapping[str, float] = field(default_factory=dict)
    policies: Mapping[str, str] = field(default_factory=dict)
    json_schema: Mapping[str, Any] | str | None = None
    json_widgets: str | None = None
    figures_interval: float = 1.0
    record_traces_dir: str | None = None
    redis_url: str | None = None
    disconnect_grace: float = 15.0
    max_concurrent_streams: int = 3
    max_starts_per_minute: int = 30
    max_streams_per_process: int = 0
    overload_lag_ms: float = 20.0
    min_frame_rate: float = 30.0
    transport: str = "auto"
    # Reliability (issue 13): crash-safety, liveness and resource bounds.
    stream_lease: float = 6.0
    persist_interval: float = 1.0
    max_answer_chars: int = 200_000
    history_max_tokens: int = 16_000
    journal_retain_seconds: float = 120.0
    max_frames_per_second: float = 20.0
    max_unread_bytes: int = 16 * 1024 * 1024
    max_new_per_minute: int = 10
    max_sockets_per_session: int = 10
    max_concurrent_per_address: int = 12
    allowed_origins: tuple[str, ...] = ()


NUMBER = (int, float)
SEQUENCE = (list, tuple)

SETTINGS: dict[str, Spec] = {
    "UPSTREAM_URL": Spec("Base URL of an OpenAI-compatible server (…/v1); offered as the upstream `openai`.",
                         str, url, nullable=True),
    "UPSTREAM_MODEL": Spec("Model name sent to the `openai` upstream.", str),
    "UPSTREAM_API_KEY": Spec("API key for the `openai` upstream (never shown, never logged).", str, nullable=True),
    "UPSTREAM_CALLABLE": Spec("Dotted path to the site's async generator `(request) -> events`; the upstream `custom`.",
                              str, nullable=True),
    "UPSTREAM_CONNECT_TIMEOUT": Spec("Seconds to connect to the `openai` upstream.", NUMBER, positive),
    "UPSTREAM_IDLE_TIMEOUT": Spec("Seconds without a byte before the `openai` upstream counts as hung.",
                                  NUMBER, positive),
    "UPSTREAM_IMPLIED_THINK": Spec("True: the `openai` model's answer opens inside an implied `<think>` (DeepSeek-R1 "
                                   "distills without a reasoning parser); text before `</think>` is reasoning.", bool),
    "UPSTREAMS": Spec("Named upstreams: `{name: {'BACKEND': dotted class, 'OPTIONS': {kwargs}, 'LABEL': text}}`.",
                      dict, upstreams),
    "DEFAULT_UPSTREAM": Spec("The upstream the widget uses; None: `openai` when UPSTREAM_URL is set, else the first of "
                             "UPSTREAMS, else `custom`, else the simulated model.", str, nullable=True),
    "SIMULATED_PROFILE": Spec("Timing profile of the simulated model (streamui.testing).", str),
    "SIMULATED_SPEED": Spec("Speed factor of the simulated model and of trace replays.", NUMBER, positive),
    "REPLAY_TRACES": Spec("Trace files (docs/ARCHITECTURE.md) offered as upstreams `trace:<stem>`.",
                          SEQUENCE, strings),
    "MAX_TOKENS": Spec("`max_tokens` sent with every upstream request.", int, positive),
    "SYSTEM_PROMPT": Spec("System message sent first in every conversation.", str),
    "HISTORY_MESSAGES": Spec("Earlier messages sent upstream with each prompt.", int, not_negative),
    "INTERRUPTED_NOTE": Spec("Appended to an interrupted answer when it is sent upstream as history.", str),
    "MAX_PROMPT_CHARS": Spec("Longest prompt accepted, in characters.", int, positive),
    "MAX_MESSAGE_BYTES": Spec("Largest client message accepted, in bytes.", int, positive),
    "SMOOTHING": Spec("Default smoothing strategy (passthrough, fixed, throttle, adaptive, or one of STRATEGIES).",
                      str),
    "AB_ARMS": Spec("A/B experiment over strategies: `{strategy: weight}`; empty: no experiment.", dict, weights),
    "STRATEGIES": Spec("Extra smoothing strategies: `{name: dotted path to a SmoothingStrategy factory}`.",
                       dict, dotted_paths),
    "DASHBOARD_PUBLIC": Spec("True opens the A/B dashboard to everyone (default: staff only).", bool),
    "METRICS_PUBLIC": Spec("True opens /streamui/metrics/ to everyone (default: loopback and staff).", bool),
    "COMMIT_POLICY": Spec("Default correction policy (replace, annotate, passthrough, or one of POLICIES).", str),
    "COMMIT_HOLD_MS": Spec("Longest the commit stage holds a phrase, in milliseconds.", NUMBER, positive),
    "COMMIT_HOLD_CHARS": Spec("Most characters the commit stage holds back.", int, positive),
    "COMMIT_FIRST_HOLD_MS": Spec("Longest the commit stage holds any piece of the answer's first sentence, in "
                                 "milliseconds.", NUMBER, positive),
    "CORRECTION_OPENERS": Spec("Phrases that open a self-correction, matched literally; None: streamui's context "
                               "rules.", SEQUENCE, strings,
                               nullable=True),
    "POLICY_ARMS": Spec("A/B experiment over correction policies: `{policy: weight}`.", dict, weights),
    "POLICIES": Spec("Extra correction policies: `{name: dotted path to a CorrectionPolicy factory}`.",
                     dict, dotted_paths),
    "JSON_SCHEMA": Spec("JSON Schema of JSON-mode answers (a dict, or a dotted path to one); None: the built-in "
                        "answer schema.", (dict, str), nullable=True),
    "JSON_WIDGETS": Spec("Dotted path to a `WidgetRegistry` (or a callable returning one) for JSON-mode answers; "
                         "None: the built-in widgets.", str, nullable=True),
    "FIGURES_INTERVAL": Spec("Seconds between live-figure updates in the playground.", NUMBER, positive),
    "RECORD_TRACES_DIR": Spec("Folder to record every live stream into as a trace file; None: off.",
                              str, nullable=True),
    "REDIS_URL": Spec("Redis for stream journals shared by several processes; needs a channels_redis channel layer.",
                      str, redis_url, nullable=True),
    "DISCONNECT_GRACE": Spec("Seconds a stream keeps generating after its last client left.", NUMBER, not_negative),
    "MAX_CONCURRENT_STREAMS": Spec("Streams one session may run at once (counted per process).", int, positive),
    "MAX_STARTS_PER_MINUTE": Spec("Streams one session may start per minute (counted per process).", int, positive),
    "MAX_STREAMS_PER_PROCESS": Spec("Most streams this process runs at once; a new one past it is refused with "
                                    "\"busy, try again\" while running ones keep their pace (0: no limit).",
                                    int, not_negative),
    "OVERLOAD_LAG_MS": Spec("A new stream is refused with \"busy, try again\" while this process paces its running "
                            "streams more than this late (milliseconds, a moving average), or while its CPU could "
                            "not carry one more (streamui.overload); 0: neither.", NUMBER, not_negative),
    "MIN_FRAME_RATE": Spec("Fewest frames a second a stream gets while its process is busy: past 0.7 of a core, "
                           "frames slow from 30 a second toward this, each carrying more words, so a process "
                           "carries more streams less smoothly (streamui.frame_governor; 15-20 to turn it on); "
                           "30: never fewer.", NUMBER, positive),
    "TRANSPORT": Spec("How the widget talks to the server: auto (WebSocket, SSE as fallback), websocket or sse.",
                      str, choice(*TRANSPORTS)),
    "STREAM_LEASE": Spec("Seconds a running stream's record lives unless its worker renews it (every third of it); "
                         "a follower elsewhere learns of a dead worker within about this long.", NUMBER, positive),
    "PERSIST_INTERVAL": Spec("The shown answer is written to the database at least this often (seconds): at most this "
                             "much shown text is lost when a worker dies.", NUMBER, positive),
    "MAX_ANSWER_CHARS": Spec("Local cap on answer, reasoning and tool-call characters; past it (or past MAX_TOKENS) "
                             "the answer ends cut off and the upstream request is closed.", int, positive),
    "HISTORY_MAX_TOKENS": Spec("Earlier turns sent upstream, newest first, up to this many tokens (tiktoken).",
                               int, not_negative),
    "JOURNAL_RETAIN_SECONDS": Spec("Seconds a finished stream stays replayable from this process's memory.",
                                   NUMBER, not_negative),
    "MAX_FRAMES_PER_SECOND": Spec("Incoming WebSocket frames per socket (burst: twice this); a faster client is "
                                  "disconnected.", NUMBER, positive),
    "MAX_UNREAD_BYTES": Spec("Bytes one socket may be sent in 10 s; a client that far behind is not reading "
                                   "and is disconnected (it can resume).", int, positive),
    "MAX_NEW_PER_MINUTE": Spec("New conversations one session may start per minute.", int, positive),
    "MAX_SOCKETS_PER_SESSION": Spec("Open chat sockets per session (counted per process).", int, positive),
    "MAX_CONCURRENT_PER_ADDRESS": Spec("Streams one client address may run at once, across sessions (loopback "
                                       "exempt; behind nginx run Daphne with --proxy-headers).", int, positive),
    "ALLOWED_ORIGINS": Spec("Extra WebSocket origins (scheme://host[:port]) besides the page's own.",
                            (list, tuple), strings),
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
        elif key in ("REPLAY_TRACES", "CORRECTION_OPENERS", "ALLOWED_ORIGINS") and value is not None:
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
        from .frame_governor import reset_process_governor

        reset_process_governor()
        from .extensions import register_from_settings

        register_from_settings()


__all__ = ["SETTINGS", "TRANSPORTS", "Problem", "Settings", "UpstreamConfig", "default_of", "get_settings", "problems"]
