"""Prometheus metrics and structured event logs for streams.

- `observe_stream(record)` is called once per stream, when it ends; it turns the
  StreamRecord's figures into histogram and counter samples. It touches no database
  and does no I/O, so it is safe to call straight from async code.
- `metrics_view` serves them in Prometheus' text format (mounted at
  `/streamui/metrics/` by streamui.urls).
- `log_stream_event("start", stream_id, upstream=...)` writes one line to the
  "streamui.events" logger: `stream.start {"stream_id": "...", "upstream": "..."}`.

The metrics live in their own CollectorRegistry rather than prometheus-client's
global one: a site's own metrics and ours cannot collide on names, tests can read
exact values, and the endpoint exposes only what streamui promises.

Labels are `model` and `widget` (and `end_reason` where it matters), never a stream
id, user or session: every label value is one more time series held forever, so
values are capped (see `_BoundedValues`).

Each Daphne process has its own registry: scrape every process directly rather than
through a load balancer, which would hand each scrape to a different process.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from .conf import get_settings
from .dashboard import STALL_MS

if TYPE_CHECKING:
    from .models import StreamRecord

REGISTRY = CollectorRegistry(auto_describe=True)

LABELS = ("model", "widget")
END_REASONS = ("done", "stopped", "disconnected", "error")
OTHER = "other"
MAX_MODELS = 50
MAX_LABEL_CHARS = 100

# Time to first token: from fast local models (tens of ms) to reasoning models (many seconds).
FIRST_TOKEN_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 60.0)
# Reveal gaps: a frame (16 ms) up to long stalls; 250 ms is the stall threshold.
GAP_BUCKETS = (0.01, 0.017, 0.025, 0.035, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.5, 1.0, 2.5, 5.0)

TIME_TO_FIRST_VISIBLE = Histogram(
    "streamui_time_to_first_visible_token_seconds",
    "Time from the prompt reaching the server to the first text sent to the browser.",
    LABELS, registry=REGISTRY, buckets=FIRST_TOKEN_BUCKETS,
)
TIME_TO_FIRST_UPSTREAM = Histogram(
    "streamui_time_to_first_upstream_token_seconds",
    "Time from the prompt reaching the server to the first token (answer or reasoning) from the model.",
    LABELS, registry=REGISTRY, buckets=FIRST_TOKEN_BUCKETS,
)
REVEAL_GAP = Histogram(
    "streamui_reveal_gap_seconds",
    "Gaps between consecutive text fragments sent to the browser, as the server sent them.",
    LABELS, registry=REGISTRY, buckets=GAP_BUCKETS,
)
STALLS = Counter(
    "streamui_stalls",
    f"Reveal gaps longer than {STALL_MS:.0f} ms (pauses a reader notices).",
    LABELS, registry=REGISTRY,
)
TOKENS_GENERATED = Counter(
    "streamui_tokens_generated",
    "Tokens the model generated (its usage figure when given, else a tiktoken count), by how the stream ended: "
    "end_reason=\"disconnected\" is the cost of answers nobody saw.",
    (*LABELS, "end_reason"), registry=REGISTRY,
)
TOKENS_SHOWN = Counter(
    "streamui_tokens_shown",
    "Tokens of answer text sent to the browser, by how the stream ended.",
    (*LABELS, "end_reason"), registry=REGISTRY,
)
STREAMS = Counter(
    "streamui_streams",
    "Streams that ended, by end reason (done, stopped, disconnected, error).",
    (*LABELS, "end_reason"), registry=REGISTRY,
)


class _BoundedValues:
    """Admits at most `limit` distinct label values; later newcomers become "other"."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def admit(self, value: str) -> str:
        value = value[:MAX_LABEL_CHARS] or "unknown"
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) >= self._limit:
                return OTHER
            self._seen.add(value)
            return value


_models = _BoundedValues(MAX_MODELS)
_WIDGET_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")


def _widget_label(widget: str) -> str:
    # Widget kinds come from code ("chat", "json"...), so anything unusual is a bug, not a new kind.
    return widget if _WIDGET_RE.fullmatch(widget) else OTHER


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else float(ms) / 1000.0


def observe_stream(record: StreamRecord, *, widget: str = "chat") -> None:
    """Count one ended stream. Call it once per stream, after its record is filled in."""
    labels = {"model": _models.admit(record.model or record.upstream), "widget": _widget_label(widget)}
    end_reason = record.end_reason if record.end_reason in END_REASONS else "unknown"

    first_visible = _seconds(record.first_visible_token_ms)
    if first_visible is not None:
        TIME_TO_FIRST_VISIBLE.labels(**labels).observe(first_visible)
    first_upstream = _seconds(record.first_upstream_token_ms)
    if first_upstream is not None:
        TIME_TO_FIRST_UPSTREAM.labels(**labels).observe(first_upstream)

    gaps = _numbers(record.reveal_gaps_ms)
    gap_histogram = REVEAL_GAP.labels(**labels)
    for gap in gaps:
        gap_histogram.observe(gap / 1000.0)
    STALLS.labels(**labels).inc(sum(1 for gap in gaps if gap > STALL_MS))

    TOKENS_GENERATED.labels(**labels, end_reason=end_reason).inc(max(0, record.tokens_generated or 0))
    TOKENS_SHOWN.labels(**labels, end_reason=end_reason).inc(max(0, record.tokens_shown or 0))
    STREAMS.labels(**labels, end_reason=end_reason).inc()


def _numbers(values: Iterable[Any] | None) -> list[float]:
    return [float(v) for v in values or () if isinstance(v, (int, float)) and not isinstance(v, bool)]


# --- the endpoint ------------------------------------------------------------------


def _is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _from_loopback(request: HttpRequest) -> bool:
    """True when the request and every proxy hop it names are on this machine.

    Behind nginx every request comes from 127.0.0.1, so the forwarding headers count
    too: a remote client's address shows up in X-Forwarded-For (deploy/nginx.conf sets
    it), and one who forges a loopback address there cannot remove its own.
    """
    if "HTTP_FORWARDED" in request.META:
        return False  # RFC 7239 syntax is not parsed here; refusing is the safe answer
    addresses = [request.META.get("REMOTE_ADDR", "")]
    for header in ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP"):
        if header in request.META:
            addresses.extend(request.META[header].split(","))
    return all(_is_loopback(address) for address in addresses)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus' text format: public if METRICS_PUBLIC, else loopback or staff only."""
    allowed = (
        get_settings().metrics_public
        or _from_loopback(request)
        or bool(getattr(getattr(request, "user", None), "is_staff", False))
    )
    if not allowed:
        raise PermissionDenied("streamui metrics are served to loopback addresses and staff")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


# --- structured event logs ---------------------------------------------------------

event_logger = logging.getLogger("streamui.events")
_EVENT_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")


def log_stream_event(event: str, stream_id: str, **fields: Any) -> None:
    """One line per stream event: `stream.<event> {"stream_id": ..., **fields}`.

    The fields are JSON so a log pipeline can parse them and so a newline in a value
    (an error message, say) cannot split the line. A failure logs at WARNING, the
    rest at INFO. The record also carries `stream_event`, `stream_id` and
    `stream_fields` attributes for handlers that format records themselves.
    """
    if not _EVENT_RE.fullmatch(event):
        raise ValueError(f"stream event names are lower_snake_case, got {event!r}")
    payload = json.dumps({"stream_id": stream_id, **fields}, default=str, separators=(", ", ": "))
    level = logging.WARNING if event == "failure" else logging.INFO
    event_logger.log(level, "stream.%s %s", event, payload,
                     extra={"stream_event": event, "stream_id": stream_id, "stream_fields": fields})


__all__ = ["REGISTRY", "log_stream_event", "metrics_view", "observe_stream"]
