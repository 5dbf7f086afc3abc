"""The load generator: a real small run against its own Daphne, the deadline, the bounds, the figures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tools.loadgen.config import ClientConfig
from tools.loadgen.frames import read_frame
from tools.loadgen.report import GapFigures, LoadReport, render_table
from tools.loadgen.runner import LoadOptions, choose_prompts, require_loopback, run_clients, run_load
from tools.loadgen.server import DaphneProcess, proc_stat, start_daphne

MAX_TOKENS = 80


def test_a_small_run_reports_sane_figures() -> None:
    report = run_load(LoadOptions(clients=5, duration=20, ramp=0.5, baseline_streams=1, max_tokens=MAX_TOKENS))

    assert (report.streams_started, report.streams_completed, report.streams_cut, report.streams_failed) == (5, 5, 0, 0)
    # Every stream lasts over a second and all five start within half a second.
    assert report.peak_concurrent == 5
    assert report.load.streams == 5 and report.baseline.streams == 1
    assert report.load.reveals >= 5 * 5 and report.baseline.reveals >= 5
    for figures in (report.load, report.baseline):
        assert figures.gap_p50_ms is not None and figures.gap_p99_ms is not None and figures.gap_max_ms is not None
        assert 0 < figures.gap_p50_ms <= figures.gap_p99_ms <= figures.gap_max_ms < 5000
        assert figures.first_reveal_p50_ms is not None and 0 < figures.first_reveal_p50_ms < 5000
    assert report.load.gap_p99_ms is not None and report.baseline.gap_p99_ms is not None
    assert report.p99_excess_ms == pytest.approx(report.load.gap_p99_ms - report.baseline.gap_p99_ms, abs=0.01)
    assert isinstance(report.target_met, bool)
    # The server's own count of what it showed: whole answers just under MAX_TOKENS.
    assert report.tokens_shown is not None and 5 * MAX_TOKENS * 0.8 <= report.tokens_shown <= 5 * MAX_TOKENS
    assert report.server_cpu_s is not None and report.server_cpu_s > 0
    assert report.cpu_us_per_reveal == pytest.approx(report.server_cpu_s * 1e6 / report.load.reveals, rel=0.01)
    assert report.cpu_us_per_token == pytest.approx(report.server_cpu_s * 1e6 / report.tokens_shown, rel=0.01)
    assert report.window_s is not None and 0.5 < report.window_s < 20
    assert report.connect_s is not None and 0 <= report.connect_s < report.window_s
    assert report.idle_rss_mb is not None and report.peak_rss_mb is not None
    assert 20 < report.idle_rss_mb <= report.peak_rss_mb
    assert report.memory_per_stream_kb is not None and report.memory_per_stream_kb >= 0
    assert report.client_cpu_share is not None and report.client_loop_lag_p99_ms is not None

    table = render_table(report)
    assert "reveal gap p99" in table and f"{report.load.reveals:,}" in table
    assert json.loads(json.dumps(report.as_dict()))["clients"] == 5


@pytest.fixture(scope="module")
def long_streams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaphneProcess]:
    server = start_daphne(tmp_path_factory.mktemp("load"), env={"STREAMUI_MAX_TOKENS": "400", "DJANGO_DEBUG": "0"})
    yield server
    server.stop()


def test_the_deadline_cuts_streams_and_the_client_stops(long_streams: DaphneProcess) -> None:
    prompts = choose_prompts(1, 400)  # about 9 s of answer
    config = ClientConfig(base_url=long_streams.url, clients=3, prompts=prompts, upstream="simulated:steady",
                          strategy="adaptive", ramp=0.0, duration=2.0)
    run = run_clients(config, long_streams.pid)
    streams = run.result["streams"]
    assert [s["end"] for s in streams] == ["cut"] * 3
    assert all(s["reveals"] > 0 for s in streams)  # they were streaming, not stuck
    assert run.result["peak_concurrent"] == 3
    assert run.window_s < 3.5
    assert run.server_before is not None and run.server_after is not None
    assert run.server_after.cpu_seconds > run.server_before.cpu_seconds


@pytest.mark.parametrize("url", ["http://10.0.0.1:8000", "http://example.org/", "https://127.0.0.1:8000",
                                 "http://192.168.1.2:80", "http://[2001:db8::1]:80"])
def test_only_loopback_is_a_target(url: str) -> None:
    with pytest.raises(ValueError):
        require_loopback(url)
    with pytest.raises(ValueError):
        LoadOptions(url=url).validate()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000",
                                 "http://127.0.0.2:9000"])
def test_loopback_is_accepted(url: str) -> None:
    require_loopback(url)


@pytest.mark.parametrize("options", [
    {"clients": 0}, {"clients": 2001}, {"duration": 0}, {"duration": 301}, {"ramp": 30, "duration": 30},
    {"baseline_streams": 0},
])
def test_runs_are_bounded(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        LoadOptions(**options).validate()
    LoadOptions(clients=2000, duration=300).validate()


OLD_REVEAL = '<span id="su-wx-m12-out" hx-swap-oob="beforeend">Hello</span>'
NEW_REVEAL = '<div id="su-wx-m12-out-tail" hx-swap-oob="innerHTML"><p>Hello</p> </div>'
STATUS = ('<div id="su-wx-status" class="streamui-status" data-streamui="status" data-state="{}" '
          'data-stream="abc" role="status" hx-swap-oob="outerHTML"></div>')


APPEND_REVEAL = '<div hx-swap-oob="beforeend:#su-m12-out-tail &gt; p:last-child"> world</div>'


@pytest.mark.parametrize("frame", [json.dumps({"content": NEW_REVEAL, "seq": 3, "stream": "s"}),
                                   json.dumps({"content": OLD_REVEAL, "seq": 4}).encode(),
                                   json.dumps({"content": APPEND_REVEAL, "seq": 5, "stream": "s"})])
def test_a_reveal_is_recognised_in_text_or_bytes(frame: str | bytes) -> None:
    info = read_frame(frame)
    assert info.reveal and info.end_state is None and info.error is None


def test_a_message_that_does_not_start_like_json_is_a_raw_text_append() -> None:
    # streamui.wire.payload: the text itself, even when it looks like markup (the widget makes it a
    # text node, never HTML); an empty message reveals nothing.
    assert read_frame("Hello, world").reveal and read_frame(NEW_REVEAL).reveal
    assert not read_frame("").reveal and not read_frame('{"broken').reveal


def test_frames_that_are_not_reveals() -> None:
    # The turn skeleton names the output element but swaps the log, not the output.
    skeleton = ('<div id="su-wx-log" hx-swap-oob="beforeend"><article id="su-wx-m12">'
                '<div class="streamui-text" data-streamui="output" id="su-wx-m12-out" aria-live="polite"></div>'
                '</article></div>' + STATUS.format("streaming"))
    info = read_frame(json.dumps({"content": skeleton}))
    assert not info.reveal and info.stream_id == "abc" and info.end_state is None
    for state in ("done", "stopped", "interrupted"):
        assert read_frame(json.dumps({"content": STATUS.format(state)})).end_state == state
    error = '<div id="su-wx-error" class="streamui-error" data-streamui="error" role="alert" hx-swap-oob="outerHTML">Too fast</div>'
    assert read_frame(json.dumps({"content": error})).error == "Too fast"
    assert read_frame(json.dumps({"content": error.replace("Too fast", "")})).error is None


def test_figures_from_streams_and_the_derived_ones() -> None:
    streams = [
        {"end": "done", "error": "", "reveals": 3, "first_reveal_ms": 100.0, "gaps_ms": [10.0, 30.0]},
        {"end": "done", "error": "", "reveals": 3, "first_reveal_ms": 300.0, "gaps_ms": [20.0, 40.0]},
        {"end": "cut", "error": "", "reveals": 1, "first_reveal_ms": 200.0, "gaps_ms": []},
        {"end": "failed", "error": "connect: refused", "reveals": 0, "first_reveal_ms": None, "gaps_ms": []},
    ]
    figures = GapFigures.from_streams(streams)
    assert (figures.streams, figures.reveals) == (4, 7)
    assert figures.gap_p50_ms == 25.0 and figures.gap_max_ms == 40.0
    assert figures.gap_p99_ms == pytest.approx(39.7)
    assert figures.first_reveal_p50_ms == 200.0

    report = LoadReport(clients=4, duration_limit_s=60, ramp_s=1, upstream="simulated:steady", strategy="adaptive",
                        speed=1.0, max_tokens=40, url="http://127.0.0.1:1")
    report.count_streams(streams)
    assert (report.streams_started, report.streams_completed, report.streams_cut, report.streams_failed) == (3, 2, 1, 1)
    assert report.errors == ["connect: refused"]
    report.load = figures
    report.baseline = GapFigures(gap_p99_ms=20.0)
    report.server_cpu_s, report.window_s, report.tokens_shown = 0.7, 2.0, 140
    report.idle_rss_mb, report.peak_rss_mb, report.peak_concurrent = 100.0, 102.0, 4
    report.finish()
    assert report.p99_excess_ms == pytest.approx(19.7)
    assert report.target_met is False  # within 50 ms, but not every client finished
    assert report.server_cpu_share == 0.35
    assert report.cpu_us_per_reveal == 100_000.0 and report.cpu_us_per_token == 5_000.0
    assert report.memory_per_stream_kb == 512.0


def test_prompts_fit_under_the_cap() -> None:
    from streamui.testing.simulated import pick_answer
    from streamui.upstream.tokens import split_tokens

    prompts = choose_prompts(4, 200)
    lengths = [len(split_tokens(pick_answer(p).answer)) for p in prompts]
    assert all(150 < n < 200 for n in lengths), lengths
    assert lengths == sorted(lengths, reverse=True)
    with pytest.raises(ValueError):
        choose_prompts(1, 10)


def test_proc_stat_reads_this_process() -> None:
    import os

    before = proc_stat(os.getpid())
    sum(i * i for i in range(300_000))
    after = proc_stat(os.getpid())
    assert after.cpu_seconds >= before.cpu_seconds > 0
    assert after.rss_bytes > 10 * 2**20
    assert Path(f"/proc/{os.getpid()}/stat").exists()
