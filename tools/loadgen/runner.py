"""One invocation of the load generator: start Daphne, a single-stream baseline, the load run.

The server is one Daphne process on a free loopback port, started here with a fresh
SQLite database and the embedded simulated LLM (so no model is in the way), unless a
loopback `url` is given. With `processes` above 1 (or `redis`) it is K Daphnes with
Redis behind nginx (cluster.py), and the clients talk to nginx. The clients run in a
separate process (client.py); this process only reads /proc (and Redis' INFO) while
they run.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from streamui.stats import percentile

from .asgi_paths import FLOOR_PATH
from .cluster import Cluster, start_cluster
from .config import ClientConfig
from .driver import ClientRun, Watch, run_clients
from .redis_stats import journal_keys, used_memory
from .report import ClusterFigures, FloorFigures, GapFigures, LoadReport, ProcessFigures

LOAD_ASGI = "tools.loadgen.asgi:application"  # the demo site plus the floor consumer
MAX_CLIENTS = 2000
MAX_PROCESSES = 8
MAX_DURATION = 300.0
RECORD_SETTLE_TIMEOUT = 10.0
BASELINE_STREAM_TIMEOUT = 60.0
SOCKET_LOG_TIMEOUT = 5.0

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
    processes: int = 1  # Daphne processes; above 1 they run with Redis behind nginx
    redis: bool = False  # Redis and nginx even with one process (what a fair 1-vs-K comparison needs)
    figures: bool = False  # the clients ask for live figures, as the playground's page does

    def validate(self) -> None:
        if not 1 <= self.clients <= MAX_CLIENTS:
            raise ValueError(f"clients must be between 1 and {MAX_CLIENTS}, got {self.clients}")
        if not 0 < self.duration <= MAX_DURATION:
            raise ValueError(f"duration must be in (0, {MAX_DURATION:g}] seconds, got {self.duration}")
        if not 0 <= self.ramp < self.duration:
            raise ValueError(f"ramp must be at least 0 and shorter than the duration, got {self.ramp}")
        if not 1 <= self.baseline_streams <= 20:
            raise ValueError("baseline streams must be between 1 and 20")
        if not 1 <= self.processes <= MAX_PROCESSES:
            raise ValueError(f"processes must be between 1 and {MAX_PROCESSES}, got {self.processes}")
        if self.url is not None and (self.processes > 1 or self.redis):
            raise ValueError("--url names a server already running: --processes and --redis start their own")
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
        server: Cluster | None = None
        try:
            if options.url is None:
                redis = options.redis or options.processes > 1
                log(f"starting {options.processes} Daphne" + (" with Redis behind nginx" if redis else ""))
                server = start_cluster(Path(tmp), processes=options.processes, redis=redis,
                                       args=options.daphne_args, asgi=LOAD_ASGI, env={
                    "STREAMUI_SIMULATED_SPEED": str(options.speed), "STREAMUI_MAX_TOKENS": str(options.max_tokens),
                    "DJANGO_DEBUG": "0",
                })
            return _measure(options, server, log)
        except Exception as exc:
            dead = server.dead() if server is not None else []
            if dead:
                raise RuntimeError(f"a server process died: {exc}\n" + "\n".join(dead)) from exc
            raise
        finally:
            # Also on Ctrl-C (KeyboardInterrupt passes through here): nothing started is left running.
            if server is not None:
                server.stop()


def _watch(server: Cluster | None, pid: int | None) -> Watch | None:
    if server is None:
        return Watch([pid]) if pid is not None else None
    others: dict[str, Sequence[int]] = {}
    if server.redis is not None:
        others["redis"] = [server.redis.pid]
    if server.nginx is not None:
        others["nginx"] = server.nginx.pids
    return Watch(server.daphne_pids, others, server.redis.url if server.redis is not None else None)


def _measure(options: LoadOptions, server: Cluster | None, log: Log) -> LoadReport:
    base_url = server.url if server is not None else str(options.url).rstrip("/")
    pid = server.daphne_pids[0] if server is not None else options.pid
    watch = _watch(server, pid)
    upstream = f"simulated:{options.profile}"
    prompts = choose_prompts(options.baseline_streams, options.max_tokens)

    def config(clients: int, prompt_list: list[str], ramp: float, duration: float, prefix: str) -> ClientConfig:
        return ClientConfig(base_url=base_url, clients=clients, prompts=prompt_list, upstream=upstream,
                            strategy=options.strategy, ramp=ramp, duration=duration, widget_prefix=prefix,
                            figures=options.figures)

    if server is not None and len(server.daphnes) > 1:
        _warm_up(server, config, prompts[0], log)
    baseline: list[dict[str, Any]] = []
    for n, prompt in enumerate(prompts):
        log(f"baseline stream {n + 1}/{len(prompts)}")
        run = run_clients(config(1, [prompt], 0.0, BASELINE_STREAM_TIMEOUT, f"su-wbase{n}"), None)
        baseline.extend(run.result["streams"])

    first_record = _last_record_id(server.db) if server is not None else 0
    log(f"load run: {options.clients} clients, ramp {options.ramp:g} s, at most {options.duration:g} s")
    served_before = server.websockets_per_process() if server is not None else None
    load_average = os.getloadavg()[0]
    run = run_clients(config(options.clients, prompts, options.ramp, options.duration, "su-wload"), watch)
    streams = run.result["streams"]

    report = LoadReport(clients=options.clients, duration_limit_s=options.duration, ramp_s=options.ramp,
                        upstream=upstream, strategy=options.strategy, figures=options.figures,
                        speed=options.speed if server is not None else 0.0,
                        max_tokens=options.max_tokens if server is not None else None, url=base_url,
                        processes=len(server.daphnes) if server is not None else 1)
    report.load_average = round(load_average, 2)
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
    if server is not None and server.redis is not None:
        report.cluster = _cluster_figures(server, run, served_before, streams)
    if options.floor and done and watch is not None:
        report.floor = _floor(options, base_url, watch, done, prompts, log)
    report.finish()
    return report


def _warm_up(server: Cluster, config: Callable[..., ClientConfig], prompt: str, log: Log) -> None:
    """One stream straight to each Daphne, all at once, unmeasured: the baseline goes through nginx
    and may miss a process, whose first stream (imports, tokenizer, caches) would then count as load."""
    log(f"warm-up: one stream on each of the {len(server.daphnes)} processes")

    def one(n: int) -> None:
        cfg = config(1, [prompt], 0.0, BASELINE_STREAM_TIMEOUT, f"su-wwarm{n}")
        cfg.base_url = server.daphnes[n].url
        run_clients(cfg, None)

    with ThreadPoolExecutor(len(server.daphnes)) as pool:
        list(pool.map(one, range(len(server.daphnes))))


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


def _cluster_figures(server: Cluster, run: ClientRun, served_before: list[int] | None,
                     streams: list[dict[str, Any]]) -> ClusterFigures:
    """Per process, Redis and nginx: the load run's window only (the baseline's sockets are not counted)."""
    assert server.redis is not None
    served_after = _served(server, served_before, sum(1 for s in streams if s["end"] != "failed"))
    window = run.window_s or None
    figures = ClusterFigures(processes=len(server.daphnes))
    for n, daphne in enumerate(server.daphnes):
        one = ProcessFigures(port=daphne.port)
        if served_before is not None and served_after is not None:
            one.websockets = served_after[n] - served_before[n]
        if n < len(run.per_process):
            before, after, peak = run.per_process[n]
            one.cpu_s = round(after.cpu_seconds - before.cpu_seconds, 3)
            one.cpu_share = round(one.cpu_s / window, 3) if window else None
            one.idle_rss_mb, one.peak_rss_mb = round(before.rss_bytes / 2**20, 1), round(peak / 2**20, 1)
        figures.per_process.append(one)
    figures.redis_cpu_s = run.others_cpu_s.get("redis")
    figures.nginx_cpu_s = run.others_cpu_s.get("nginx")
    if window:
        figures.redis_cpu_share = None if figures.redis_cpu_s is None else round(figures.redis_cpu_s / window, 3)
        figures.nginx_cpu_share = None if figures.nginx_cpu_s is None else round(figures.nginx_cpu_s / window, 3)
    if run.redis_idle is not None and run.redis_peak is not None:
        figures.redis_idle_mb = round(run.redis_idle / 2**20, 2)
        figures.redis_peak_mb = round(run.redis_peak / 2**20, 2)
    figures.redis_after_mb = round(used_memory(server.redis.url) / 2**20, 2)
    keys = journal_keys(server.redis.url, [s["stream_id"] for s in streams if s["stream_id"]])
    figures.journal_keys, figures.journal_key_bytes, figures.journal_entries = (
        keys.keys, keys.bytes_mean, keys.entries_mean)
    return figures


def _served(server: Cluster, before: list[int] | None, opened: int) -> list[int] | None:
    """Sockets per process since `before`; nginx logs a socket when it closes, a moment after the client did."""
    deadline = time.monotonic() + SOCKET_LOG_TIMEOUT
    after = server.websockets_per_process()
    while (before is not None and after is not None and sum(after) - sum(before) < opened
           and time.monotonic() < deadline):
        time.sleep(0.1)
        after = server.websockets_per_process()
    return after


def _floor(options: LoadOptions, base_url: str, watch: Watch, done: list[dict[str, Any]], prompts: list[str],
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
    run = run_clients(config(options.clients, "su-wfloor"), Watch(watch.daphnes))
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


__all__ = ["MAX_CLIENTS", "MAX_DURATION", "MAX_PROCESSES", "ClientRun", "LoadOptions", "Watch", "choose_prompts",
           "require_loopback", "run_clients", "run_load"]
