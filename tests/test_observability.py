"""Metrics from ended streams, the /streamui/metrics/ endpoint and its access rules, event log lines."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from streamui import observability
from streamui.dashboard import STALL_MS
from streamui.models import StreamRecord
from streamui.observability import observe_stream

pytestmark = pytest.mark.django_db

URL = "/streamui/metrics/"
REMOTE = "203.0.113.9"


def make_record(**fields: Any) -> StreamRecord:
    values: dict[str, Any] = {
        "stream_id": uuid.uuid4().hex, "upstream": "simulated:steady", "model": "",
        "started_at": timezone.now(), "end_reason": "done",
    }
    values.update(fields)
    record: StreamRecord = StreamRecord.objects.create(**values)
    return record


def scrape(client: Client | None = None, **extra: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = (client or Client()).get(URL, **extra)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_one_stream_gives_exact_histograms_and_counters() -> None:
    model = "model-exact"
    observe_stream(make_record(
        model=model, first_visible_token_ms=120.0, first_upstream_token_ms=80.0,
        reveal_gaps_ms=[10.0, 20.0, 300.0, 260.0, 5.0, 250.0], tokens_generated=50, tokens_shown=40,
    ))
    s = scrape()
    labels = {"model": model, "widget": "chat"}

    ttfv = "streamui_time_to_first_visible_token_seconds"
    assert value(s, f"{ttfv}_count", **labels) == 1
    assert value(s, f"{ttfv}_sum", **labels) == pytest.approx(0.12, abs=1e-12)
    assert value(s, f"{ttfv}_bucket", **labels, le="0.1") == 0
    assert value(s, f"{ttfv}_bucket", **labels, le="0.2") == 1

    ttfu = "streamui_time_to_first_upstream_token_seconds"
    assert value(s, f"{ttfu}_count", **labels) == 1
    assert value(s, f"{ttfu}_sum", **labels) == pytest.approx(0.08, abs=1e-12)
    assert value(s, f"{ttfu}_bucket", **labels, le="0.05") == 0
    assert value(s, f"{ttfu}_bucket", **labels, le="0.1") == 1

    gap = "streamui_reveal_gap_seconds"
    assert value(s, f"{gap}_count", **labels) == 6
    assert value(s, f"{gap}_sum", **labels) == pytest.approx(0.845, abs=1e-12)
    assert value(s, f"{gap}_bucket", **labels, le="0.01") == 2  # 5 and 10 ms (bounds are inclusive)
    assert value(s, f"{gap}_bucket", **labels, le="0.025") == 3
    assert value(s, f"{gap}_bucket", **labels, le="0.25") == 4  # 250 ms is not yet a stall
    assert value(s, f"{gap}_bucket", **labels, le="0.5") == 6
    assert value(s, f"{gap}_bucket", **labels, le="+Inf") == 6

    assert STALL_MS == 250.0
    assert value(s, "streamui_stalls_total", **labels) == 2  # 300 and 260 ms
    assert value(s, "streamui_tokens_generated_total", **labels, end_reason="done") == 50
    assert value(s, "streamui_tokens_shown_total", **labels, end_reason="done") == 40
    assert value(s, "streamui_streams_total", **labels, end_reason="done") == 1


def test_streams_add_up_by_end_reason_and_widget() -> None:
    model = "model-sum"
    for reason, generated, shown in (("done", 30, 30), ("disconnected", 200, 12), ("disconnected", 100, 0)):
        observe_stream(make_record(model=model, end_reason=reason, tokens_generated=generated, tokens_shown=shown,
                                   first_visible_token_ms=100.0, reveal_gaps_ms=[40.0]), widget="json")
    s = scrape()
    labels = {"model": model, "widget": "json"}
    assert value(s, "streamui_streams_total", **labels, end_reason="done") == 1
    assert value(s, "streamui_streams_total", **labels, end_reason="disconnected") == 2
    # What answers nobody saw cost: tokens generated for streams whose reader left.
    assert value(s, "streamui_tokens_generated_total", **labels, end_reason="disconnected") == 300
    assert value(s, "streamui_tokens_shown_total", **labels, end_reason="disconnected") == 12
    assert value(s, "streamui_time_to_first_visible_token_seconds_count", **labels) == 3
    assert value(s, "streamui_reveal_gap_seconds_count", **labels) == 3
    assert value(s, "streamui_time_to_first_visible_token_seconds_count", model=model, widget="chat") is None


def test_blank_model_is_labelled_by_upstream_and_missing_times_are_not_observed() -> None:
    upstream = "simulated:upstream-label"
    observe_stream(make_record(model="", upstream=upstream, end_reason="error", first_upstream_token_ms=None,
                               first_visible_token_ms=None, reveal_gaps_ms=[], tokens_generated=0))
    s = scrape()
    labels = {"model": upstream, "widget": "chat"}
    assert value(s, "streamui_streams_total", **labels, end_reason="error") == 1
    assert value(s, "streamui_time_to_first_visible_token_seconds_count", **labels) in (None, 0)
    assert value(s, "streamui_time_to_first_upstream_token_seconds_count", **labels) in (None, 0)
    assert value(s, "streamui_stalls_total", **labels) == 0


def test_label_values_stay_bounded() -> None:
    observe_stream(make_record(model="model-widget", end_reason="done"), widget="Not A Widget!")
    s = scrape()
    assert value(s, "streamui_streams_total", model="model-widget", widget="other", end_reason="done") == 1

    models = observability._BoundedValues(limit=2)
    assert [models.admit(m) for m in ("a", "b", "c", "a", "d", "")] == ["a", "b", "other", "a", "other", "other"]
    assert observability._BoundedValues(limit=5).admit("m" * 500) == "m" * observability.MAX_LABEL_CHARS


def test_no_label_names_a_stream_or_a_visitor() -> None:
    record = make_record(model="model-ids", session_key="secret-session", end_reason="done")
    observe_stream(record)
    body = Client().get(URL).content.decode()
    assert record.stream_id not in body
    assert "secret-session" not in body


# --- access ---------------------------------------------------------------------


@pytest.mark.parametrize("remote", ["127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1"])
def test_loopback_may_scrape(remote: str) -> None:
    assert Client().get(URL, REMOTE_ADDR=remote).status_code == 200


@pytest.mark.parametrize("headers", [
    {"REMOTE_ADDR": REMOTE},
    {"REMOTE_ADDR": "10.0.0.5"},
    # Behind nginx: the proxy is local, the client is not.
    {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": REMOTE},
    {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": f"127.0.0.1, {REMOTE}"},
    {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_REAL_IP": REMOTE},
    {"REMOTE_ADDR": "127.0.0.1", "HTTP_FORWARDED": "for=127.0.0.1"},
    {"REMOTE_ADDR": "not an address"},
])
def test_others_may_not(headers: dict[str, str]) -> None:
    assert Client().get(URL, **headers).status_code == 403


def test_a_local_proxy_forwarding_a_local_client_may_scrape() -> None:
    assert Client().get(URL, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200


def test_staff_may_scrape_from_anywhere() -> None:
    user_model = get_user_model()
    client = Client()
    client.force_login(user_model.objects.create_user("visitor", password="x"))
    assert client.get(URL, REMOTE_ADDR=REMOTE).status_code == 403
    client.force_login(user_model.objects.create_user("ops", password="x", is_staff=True))
    assert client.get(URL, REMOTE_ADDR=REMOTE).status_code == 200


def test_metrics_public_opens_it_to_everyone() -> None:
    with override_settings(STREAMUI={"METRICS_PUBLIC": True}):
        samples = scrape(REMOTE_ADDR=REMOTE)
    assert any(name.startswith("streamui_") for name, _ in samples)
    assert Client().get(URL, REMOTE_ADDR=REMOTE).status_code == 403


# --- event log lines --------------------------------------------------------------


def test_an_event_is_one_line_with_json_fields(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="streamui.events"):
        observability.log_stream_event("start", "s-123", upstream="simulated:steady", strategy="adaptive")
    (record,) = [r for r in caplog.records if r.name == "streamui.events"]
    assert record.getMessage() == 'stream.start {"stream_id": "s-123", "upstream": "simulated:steady", "strategy": "adaptive"}'
    assert record.levelno == logging.INFO
    assert record.stream_event == "start"  # type: ignore[attr-defined]
    assert record.stream_id == "s-123"  # type: ignore[attr-defined]


def test_a_failure_is_a_warning_and_stays_on_one_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="streamui.events"):
        observability.log_stream_event("failure", "s-9", error="upstream said:\nno", tokens=3, at=None)
    (record,) = [r for r in caplog.records if r.name == "streamui.events"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "\n" not in message
    assert message == 'stream.failure {"stream_id": "s-9", "error": "upstream said:\\nno", "tokens": 3, "at": null}'


@pytest.mark.parametrize("event", ["stop", "cancel", "resume", "end"])
def test_the_lifecycle_events_log(event: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="streamui.events"):
        observability.log_stream_event(event, "s-1")
    assert caplog.messages == [f'stream.{event} {{"stream_id": "s-1"}}']


@pytest.mark.parametrize("event", ["", "Start", "stream start", "x" * 40])
def test_event_names_are_checked(event: str) -> None:
    with pytest.raises(ValueError):
        observability.log_stream_event(event, "s-1")
