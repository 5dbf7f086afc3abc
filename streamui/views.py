"""HTTP views of the streamui app."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.templatetags.static import static

from .conf import get_settings
from .conversations import Owner
from .dashboard import EXPERIMENT, STALL_MS, compare, sections
from .models import StreamRecord
from .stats import TestResult
from .svg import gap_histogram_svg, timeline_svg
from .templating import environment

DASHBOARD_STREAMS = 5000

_RECORD_FIELDS = (
    "stream_id", "upstream", "profile", "model", "strategy", "arm", "first_upstream_token_ms",
    "first_reasoning_ms", "first_visible_token_ms", "duration_ms", "tokens_generated",
    "tokens_generated_source", "tokens_shown", "chars_shown", "end_reason", "error_kind", "error_message",
    "stop_received_at", "arrival_gaps_ms", "reveal_gaps_ms", "client_timings",
)


def stream_record(request: HttpRequest, stream_id: str) -> JsonResponse:
    """One stream's record, for its owner only."""
    owner = Owner.from_request(request)
    record = StreamRecord.objects.filter(stream_id=stream_id, **owner.stream_filter()).first()
    if record is None:
        raise Http404("no such stream")
    return JsonResponse({name: getattr(record, name) for name in _RECORD_FIELDS})


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _test(result: TestResult | None) -> str:
    if result is None:
        return "too few streams"
    verdict = "significant" if result.significant else "not significant"
    return f"p = {result.p_value:.3g} ({verdict})"


def dashboard(request: HttpRequest) -> HttpResponse:
    """Per-arm figures with significance tests and server-rendered SVG plots."""
    if not get_settings().dashboard_public and not getattr(request.user, "is_staff", False):
        raise PermissionDenied("the streamui dashboard is for staff")
    all_records = StreamRecord.objects.all()
    choices = {"upstream": sorted(set(all_records.values_list("upstream", flat=True))),
               "profile": sorted(set(all_records.values_list("profile", flat=True)) - {""})}
    filters = {name: request.GET.get(name, "") for name in ("upstream", "profile", "since", "until")}
    query = all_records.select_related("message").order_by("-started_at")
    if filters["upstream"]:
        query = query.filter(upstream=filters["upstream"])
    if filters["profile"]:
        query = query.filter(profile=filters["profile"])
    for name, lookup, extra in (("since", "started_at__date__gte", 0), ("until", "started_at__date__lte", 0)):
        try:
            day = dt.date.fromisoformat(filters[name]) + dt.timedelta(days=extra) if filters[name] else None
        except ValueError:
            day, filters[name] = None, ""
        if day is not None:
            query = query.filter(**{lookup: day})
    records = list(query[:DASHBOARD_STREAMS])
    by_section = sections(records)
    summaries = by_section[EXPERIMENT]
    # One stream's timeline (and its id) only for its owner or staff (review 1.12): a public
    # dashboard must not hand out other visitors' stream ids.
    if getattr(request.user, "is_staff", False):
        visible = records
    else:
        owned = set(StreamRecord.objects.filter(**Owner.from_request(request).stream_filter())
                    .values_list("stream_id", flat=True)[:DASHBOARD_STREAMS])
        visible = [r for r in records if r.stream_id in owned]
    stream_id = request.GET.get("stream", "")
    stream: Any = next((r for r in visible if r.stream_id == stream_id), None) if stream_id else None
    stream = stream or next((r for r in visible if (r.timeline or {}).get("reveals")), None)
    if stream is None:
        # The latest timeline is still shown as an example, without the id of someone else's stream.
        latest = next((r for r in records if (r.timeline or {}).get("reveals")), None)
        if latest is not None:
            stream = SimpleNamespace(stream_id="(another visitor's)", upstream=latest.upstream,
                                     strategy=latest.strategy, end_reason=latest.end_reason, timeline=latest.timeline)
    timeline = timeline_svg(stream.timeline["arrivals"], stream.timeline["reveals"]) if stream else ""
    html = environment().get_template("streamui/dashboard.html").render(
        total=len(records), stall_ms=STALL_MS, sections=by_section, comparisons=compare(summaries),
        filters=filters, choices=choices,
        histogram=gap_histogram_svg({s.arm: s.reveal_gaps_ms for s in summaries or by_section["forced"]
                                     or by_section["default"]}),
        stream=stream, timeline=timeline, ms=_ms, pct=_pct, test=_test, css=static("streamui/streamui.css"),
    )
    return HttpResponse(html)
