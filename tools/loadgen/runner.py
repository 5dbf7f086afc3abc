"""One invocation of the load generator: start Daphne, a single-stream baseline, the load run.

The server is one Daphne process on a free loopback port, started here with a fresh
SQLite database and the embedded simulated LLM (so no model is in the way), unless a
loopback `url` is given. The clients run in a separate process (client.py); this
process only reads /proc while they run.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from streamui.stats import percentile

from .asgi_paths import FLOOR_PATH
from .config import ClientConfig
from .report import FloorFigures, GapFigures, LoadReport
from .server import ROOT, DaphneProcess, ProcStat, proc_stat, start_daphne

LOAD_ASGI = "tools.loadgen.asgi:application"  # the demo site plus the floor consumer
MAX_CLIENTS = 2000
MAX_DURATION = 300.0
RSS_SAMPLE_INTERVAL = 0.1
RECORD_SETTLE_TIMEOUT = 10.0
BASELINE_STREAM_TIMEOUT = 60.0

Log = Callable[[str], None]


@dataclass(slots=True)
class LoadOptions:
    clients: int = 100
    duration: float = 120.0  # cap on the load run's wall time (each baseline stream has its own)
    ramp: float = 5.0  # prompts are sent evenly over this many seconds
    baseline_streams: int = 3
    profile: str = "steady"
    strategy: str = "adaptive"
    speed: float = 1.0  # STREAMUI_SIMULATED_SPEED of the server started here
    max_tokens: int = 300  # answers are picked to end just under this; the server's cap too
    url: str | None = None  # an already running server on loopback instead of starting one
    pid: int | None = None  # that server's process, for CPU and memory figures
    daphne_args: Sequence[str] = ()
    floor: bool = True  # then the same clients against the floor consumer, same Daphne, same run

    def validate(self) -> None:
        if not 1 <= self.clients <= MAX_CLIENTS:
            raise ValueError(f"clients must be between 1 and {MAX_CLIENTS}, got {self.clients}")
        if not 0 < self.duration <= MAX_DURATION:
            raise ValueError(f"duration must be in (0, {MAX_DURATION:g}] seconds, got {self.duration}")
        if not 0 <= self.ramp < self.duration:
            raise ValueError(f"ramp must be at least 0 and shorter than the duration, got {self.ramp}")
        if not 1 <= self.baseline_streams <= 20:
            raise ValueError("baseline streams must be between 1 and 20")
        if self.url is not None:
            require_loopback(self.url)


def require_loopback(url: str) -> None:
    """Refuse anything but this machine: a load generator aimed elsewhere is an attack."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"the load generator takes an http:// URL on loopback, got {url!r}")
    host = parts.hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"the load generator only targets loopback addresses, not {host!r}")


def choose_prompts(count: int, max_tokens: int) -> list[str]:
    """The corpus prompts with the longest answers that still end before the token cap.

    An answer cut at the cap ends "interrupted", not done; picking answers just under it
    keeps every stream whole and the streams alike in length.
    """
    from streamui.testing.simulated import answer_corpus
    from streamui.upstream.tokens import split_tokens

    fitting = sorted(((len(split_tokens(item.answer)), item.prompt) for item in answer_corpus()), reverse=True)
    fitting = [(n, prompt) for n, prompt in fitting if n < max_tokens]
    if not fitting:
        raise ValueError(f"no simulated answer is shorter than {max_tokens} tokens: raise max_tokens")
    return [fitting[i % len(fitting)][1] for i in range(count)]


class _Sampler(threading.Thread):
    """Peak resident memory of a process, sampled until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_rss = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.peak_rss = max(self.peak_rss, proc_stat(self.pid).rss_bytes)
            except (FileNotFoundError, ProcessLookupError):
                return
            self._stop_event.wait(RSS_SAMPLE_INTERVAL)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak_rss


@dataclass(slots=True)
class ClientRun:
    result: dict[str, Any]
    window_s: float
    server_before: ProcStat | None = None
    server_after: ProcStat | None = None
    server_peak_rss: int | None = None
    client_cpu_s: float | None = None


def run_clients(config: ClientConfig, server_pid: int | None) -> ClientRun:
    """Run the client process; read the server's and the client's /proc between its markers."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "tools.loadgen.client"], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(config.to_json())
    proc.stdin.close()
    sampler: _Sampler | None = None
    before = after = None
    client_before = client_after = None
    window_start = window_end = None
    result: dict[str, Any] | None = None
    killer = threading.Timer(config.duration + 60, proc.kill)  # the client caps itself; this is the backstop
    killer.start()
    try:
        for line in proc.stdout:
            message = json.loads(line)
            event = message.get("event")
            if event == "connecting":
                window_start = time.perf_counter()
                client_before = proc_stat(proc.pid)
                if server_pid is not None:
                    before = proc_stat(server_pid)
                    sampler = _Sampler(server_pid)
                    sampler.start()
            elif event == "finished":
                window_end = time.perf_counter()
                client_after = proc_stat(proc.pid)
                if server_pid is not None:
                    after = proc_stat(server_pid)
            elif event == "result":
                result = message
    finally:
        killer.cancel()
        peak = sampler.stop() if sampler is not None else None
        proc.wait()
    if result is None or window_start is None or window_end is None:
        raise RuntimeError(f"the client process ended without a result (exit code {proc.returncode})")
    return ClientRun(
        result=result, window_s=window_end - window_start, server_before=before, server_after=after,
        server_peak_rss=max(peak or 0, after.rss_bytes if after else 0) or None,
        client_cpu_s=(client_after.cpu_seconds - client_before.cpu_seconds)
        if client_before and client_after else None,
    )


def _records(db: Path, after_id: int) -> tuple[int, int]:
    with sqlite3.connect(db, timeout=20) as conn:
        count, tokens = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(tokens_shown), 0) FROM streamui_streamrecord WHERE id > ?", (after_id,)
        ).fetchone()
    return int(count), int(tokens)


def _last_record_id(db: Path) -> int:
    with sqlite3.connect(db, timeout=20) as conn:
        return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM streamui_streamrecord").fetchone()[0])


def _tokens_shown(db: Path, after_id: int, expected: int) -> int:
    """The server's count of tokens shown in the load run, once every stream's record is saved."""
    deadline = time.monotonic() + RECORD_SETTLE_TIMEOUT
    count, tokens = _records(db, after_id)
    while count < expected and time.monotonic() < deadline:
        time.sleep(0.2)
        count, tokens = _records(db, after_id)
    return tokens


def run_load(options: LoadOptions, log: Log = lambda message: None) -> LoadReport:
    options.validate()
    if importlib.util.find_spec("websockets") is None:
        raise RuntimeError("the load generator's client needs websockets: install requirements-dev.txt")
    with tempfile.TemporaryDirectory(prefix="streamui-load-") as tmp:
        server: DaphneProcess | None = None
        if options.url is None:
            log("starting Daphne")
            server = start_daphne(Path(tmp), args=options.daphne_args, asgi=LOAD_ASGI, env={
                "STREAMUI_SIMULATED_SPEED": str(options.speed), "STREAMUI_MAX_TOKENS": str(options.max_tokens),
                "DJANGO_DEBUG": "0",
            })
        try:
            return _measure(options, server, log)
        except Exception as exc:
            if server is not None and server.proc.poll() is not None:
                raise RuntimeError(f"Daphne died: {exc}\n{server.log_tail()}") from exc
            raise
        finally:
            if server is not None:
                server.stop()


def _measure(options: LoadOptions, server: DaphneProcess | None, log: Log) -> LoadReport:
    base_url = server.url if server is not None else str(options.url).rstrip("/")
    pid = server.pid if server is not None else options.pid
    upstream = f"simulated:{options.profile}"
    prompts = choose_prompts(options.baseline_streams, options.max_tokens)

    def config(clients: int, prompt_list: list[str], ramp: float, duration: float, prefix: str) -> ClientConfig:
        return ClientConfig(base_url=base_url, clients=clients, prompts=prompt_list, upstream=upstream,
                            strategy=options.strategy, ramp=ramp, duration=duration, widget_prefix=prefix)

    baseline: list[dict[str, Any]] = []
    for n, prompt in enumerate(prompts):
        log(f"baseline stream {n + 1}/{len(prompts)}")
        run = run_clients(config(1, [prompt], 0.0, BASELINE_STREAM_TIMEOUT, f"su-wbase{n}"), None)
        baseline.extend(run.result["streams"])

    first_record = _last_record_id(server.db) if server is not None else 0
    log(f"load run: {options.clients} clients, ramp {options.ramp:g} s, at most {options.duration:g} s")
    run = run_clients(config(options.clients, prompts, options.ramp, options.duration, "su-wload"), pid)
    streams = run.result["streams"]

    report = LoadReport(clients=options.clients, duration_limit_s=options.duration, ramp_s=options.ramp,
                        upstream=upstream, strategy=options.strategy,
                        speed=options.speed if server is not None else 0.0,
                        max_tokens=options.max_tokens if server is not None else None, url=base_url)
    report.count_streams(streams)
    report.peak_concurrent = int(run.result["peak_concurrent"])
    report.load = GapFigures.from_streams([s for s in streams if s["end"] != "failed"])
    report.baseline = GapFigures.from_streams(baseline)
    report.window_s = round(run.window_s, 3)
    report.connect_s = run.result.get("connect_seconds")
    if run.server_before is not None and run.server_after is not None:
        report.server_cpu_s = round(run.server_after.cpu_seconds - run.server_before.cpu_seconds, 3)
        report.idle_rss_mb = round(run.server_before.rss_bytes / 2**20, 1)
    if run.server_peak_rss is not None:
        report.peak_rss_mb = round(run.server_peak_rss / 2**20, 1)
    if run.client_cpu_s is not None and run.window_s > 0:
        report.client_cpu_share = round(run.client_cpu_s / run.window_s, 3)
    lag = percentile(run.result["loop_lag_ms"], 99)
    report.client_loop_lag_p99_ms = None if lag is None else round(lag, 2)
    report.single_stream_s = _mean_duration_s(baseline)
    report.stream_seconds = round(sum((s["duration_ms"] or 0) for s in streams if s["end"] == "done") / 1000, 3)
    done = [s for s in streams if s["end"] == "done"]
    if done:
        report.bytes_per_stream = round(sum(s["bytes"] for s in done) / len(done), 1)
    if run.server_after is not None and report.streams_completed:
        # Every finished stream is still kept for resume; RSS also keeps the allocator's high-water mark.
        report.rss_after_mb = round(run.server_after.rss_bytes / 2**20, 1)
    if server is not None:
        report.tokens_shown = _tokens_shown(server.db, first_record, report.streams_started)
        report.answer_html_bytes = _answer_html_bytes(server.db, first_record)
    if options.floor and done and pid is not None:
        report.floor = _floor(options, base_url, pid, done, prompts, log)
    report.finish()
    return report


def _mean_duration_s(streams: list[dict[str, Any]]) -> float | None:
    durations = [s["duration_ms"] for s in streams if s["end"] == "done" and s["duration_ms"]]
    return round(sum(durations) / len(durations) / 1000, 3) if durations else None


def _answer_html_bytes(db: Path, after_id: int) -> float | None:
    """Mean size of the finished answers' HTML (what the page holds at the end), from the database."""
    from streamui.pipeline.markdown import MarkdownStream

    with sqlite3.connect(db, timeout=20) as conn:
        rows = conn.execute(
            "SELECT m.content FROM streamui_streamrecord r JOIN streamui_chatmessage m ON r.message_id = m.id "
            "WHERE r.id > ? AND r.end_reason = 'done'", (after_id,)).fetchall()
    sizes = []
    for (content,) in rows:
        md = MarkdownStream()
        updates = md.append(content) + md.finish()
        sizes.append(sum(len(getattr(u, "html", "")) for u in updates if type(u).__name__ == "FrozenBlock"))
    return round(sum(sizes) / len(sizes), 1) if sizes else None


def _floor(options: LoadOptions, base_url: str, pid: int, done: list[dict[str, Any]], prompts: list[str],
           log: Log) -> FloorFigures:
    """The floor consumer with streamui's frame count, size and rate, same clients and ramp."""
    frames = max(1, round(sum(s["reveals"] for s in done) / len(done)))
    frame_bytes = max(64, round(sum(s["bytes"] for s in done) / max(1, sum(s["reveals"] for s in done))))
    spans = sum(sum(s["gaps_ms"]) for s in done) / 1000
    gaps = sum(max(0, s["reveals"] - 1) for s in done)
    hz = round(gaps / spans, 2) if spans > 0 else 20.0
    path = f"{FLOOR_PATH}?frames={frames}&bytes={frame_bytes}&hz={hz}"

    def config(clients: int, prefix: str) -> ClientConfig:
        return ClientConfig(base_url=base_url, clients=clients, prompts=prompts, upstream="floor", strategy="floor",
                            ramp=options.ramp if clients > 1 else 0.0, duration=options.duration,
                            widget_prefix=prefix, ws_path=path)

    log(f"floor: single stream, then {options.clients} clients ({frames} frames of {frame_bytes} B at {hz:g} Hz)")
    single = run_clients(config(1, "su-wfloorbase"), None).result["streams"]
    run = run_clients(config(options.clients, "su-wfloor"), pid)
    streams = [s for s in run.result["streams"] if s["end"] == "done"]
    figures = FloorFigures(frames=frames, frame_bytes=frame_bytes, hz=hz, completed=len(streams),
                           load=GapFigures.from_streams(streams), baseline=GapFigures.from_streams(single))
    if run.server_before is not None and run.server_after is not None:
        figures.server_cpu_s = round(run.server_after.cpu_seconds - run.server_before.cpu_seconds, 3)
    figures.stream_seconds = round(sum((s["duration_ms"] or 0) for s in streams) / 1000, 3)
    figures.single_stream_s = _mean_duration_s(single)
    figures.bytes_per_stream = round(sum(s["bytes"] for s in streams) / len(streams), 1) if streams else None
    figures.finish()
    return figures


__all__ = ["MAX_CLIENTS", "MAX_DURATION", "LoadOptions", "choose_prompts", "require_loopback", "run_load"]
