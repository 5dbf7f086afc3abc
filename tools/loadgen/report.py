"""The load generator's figures: what each one means, how it is computed, and the table.

- reveal gap: time between two consecutive reveals of one stream, as the client read
  them off its socket (a reveal is a frame that changed the answer, see frames.py);
  the wait for the first reveal is not a gap. Percentiles pool the gaps of all streams.
- baseline: the same figures from single streams run one after another, same server,
  same prompts, just before the load run. `p99 excess` is load p99 minus baseline p99.
- server CPU: user + system time of the Daphne process (all its threads) from the
  moment the client starts opening sockets to the moment the last stream ended; it
  includes handshakes, session lookups and database writes, i.e. everything a stream
  costs. Per reveal: divided by the reveals clients saw. Per token: divided by the
  tokens shown, the server's own tiktoken (cl100k) count of the revealed answer text
  (StreamRecord.tokens_shown), when the generator started the server itself.
- memory per stream: (peak RSS during the run - RSS just before the sockets opened)
  / peak concurrent streams. Python seldom returns memory, so peak ~ RSS at the peak.
- client CPU and loop lag: how busy the client process was and how late its own
  event loop ran (a late client loop inflates the gaps it measures).
- several processes (`processes` > 1, or Redis with one): server CPU and memory above
  are summed over the Daphne processes (server CPU share can then pass 1.0); `cluster`
  has each process's share and the sockets nginx gave it, redis-server's and nginx's
  CPU (not in the server's), and Redis' memory (redis_stats.py says how it is read).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from streamui.overload import BUSY
from streamui.stats import percentile

# The target: client-seen p99 reveal gap under load within this of a single stream's.
TARGET_P99_EXCESS_MS = 50.0


@dataclass(slots=True)
class GapFigures:
    streams: int = 0
    reveals: int = 0
    gap_p50_ms: float | None = None
    gap_p99_ms: float | None = None
    gap_max_ms: float | None = None
    first_reveal_p50_ms: float | None = None
    first_reveal_p99_ms: float | None = None

    @classmethod
    def from_streams(cls, streams: Sequence[dict[str, Any]]) -> GapFigures:
        gaps = [g for s in streams for g in s["gaps_ms"]]
        firsts = [s["first_reveal_ms"] for s in streams if s["first_reveal_ms"] is not None]
        return cls(
            streams=len(streams),
            reveals=sum(int(s["reveals"]) for s in streams),
            gap_p50_ms=_round(percentile(gaps, 50)),
            gap_p99_ms=_round(percentile(gaps, 99)),
            gap_max_ms=_round(max(gaps) if gaps else None),
            first_reveal_p50_ms=_round(percentile(firsts, 50)),
            first_reveal_p99_ms=_round(percentile(firsts, 99)),
        )


@dataclass(slots=True)
class FloorFigures:
    """The floor consumer's run: the same clients, frames of streamui's size, count and rate."""

    frames: int
    frame_bytes: int
    hz: float
    completed: int = 0
    load: GapFigures = field(default_factory=GapFigures)
    baseline: GapFigures = field(default_factory=GapFigures)
    server_cpu_s: float | None = None
    stream_seconds: float | None = None
    single_stream_s: float | None = None
    cpu_ms_per_stream_second: float | None = None  # as LoadReport's
    cpu_us_per_frame: float | None = None
    p99_excess_ms: float | None = None
    bytes_per_stream: float | None = None

    def finish(self) -> None:
        if self.server_cpu_s is not None and self.single_stream_s and self.completed:
            self.cpu_ms_per_stream_second = round(self.server_cpu_s * 1000 / self.completed / self.single_stream_s, 3)
        if self.server_cpu_s is not None and self.load.reveals:
            self.cpu_us_per_frame = round(self.server_cpu_s * 1e6 / self.load.reveals, 1)
        if self.load.gap_p99_ms is not None and self.baseline.gap_p99_ms is not None:
            self.p99_excess_ms = round(self.load.gap_p99_ms - self.baseline.gap_p99_ms, 2)


@dataclass(slots=True)
class ProcessFigures:
    """One Daphne of several, over the load run's window."""

    port: int
    websockets: int | None = None  # sockets nginx upgraded to this process during the load run
    cpu_s: float | None = None
    cpu_share: float | None = None
    idle_rss_mb: float | None = None
    peak_rss_mb: float | None = None


@dataclass(slots=True)
class ClusterFigures:
    """The processes around the Daphnes when they run with Redis behind nginx."""

    processes: int
    per_process: list[ProcessFigures] = field(default_factory=list)
    redis_cpu_s: float | None = None
    redis_cpu_share: float | None = None
    nginx_cpu_s: float | None = None  # master and worker
    nginx_cpu_share: float | None = None
    redis_idle_mb: float | None = None  # INFO used_memory just before the sockets opened
    redis_peak_mb: float | None = None  # its highest sample while the clients ran
    redis_after_mb: float | None = None  # after the run: the finished streams' journals, kept for resume
    redis_kb_per_live_stream: float | None = None  # (peak - idle) / peak concurrent streams
    journal_keys: int | None = None  # the load run's journal keys still in Redis after it
    journal_key_bytes: float | None = None  # MEMORY USAGE (SAMPLES 0) per key, mean
    journal_entries: float | None = None  # XLEN per key, mean

    def finish(self, peak_concurrent: int) -> None:
        if self.redis_peak_mb is not None and self.redis_idle_mb is not None and peak_concurrent:
            self.redis_kb_per_live_stream = round((self.redis_peak_mb - self.redis_idle_mb) * 1024 / peak_concurrent, 1)


@dataclass(slots=True)
class LoadReport:
    clients: int
    duration_limit_s: float
    ramp_s: float
    upstream: str
    strategy: str
    speed: float
    max_tokens: int | None
    url: str
    figures: bool = False  # the clients asked for live figures (the playground's page), else none were sent
    streams_started: int = 0
    streams_completed: int = 0
    streams_cut: int = 0  # still streaming at the deadline
    streams_failed: int = 0  # no session, no socket, an error frame or an interrupted answer
    streams_refused_busy: int = 0  # of those, refused at once as "busy" (OVERLOAD_LAG_MS, MAX_STREAMS_PER_PROCESS)
    peak_concurrent: int = 0
    load: GapFigures = field(default_factory=GapFigures)
    baseline: GapFigures = field(default_factory=GapFigures)
    p99_excess_ms: float | None = None
    target_p99_excess_ms: float = TARGET_P99_EXCESS_MS
    target_met: bool | None = None
    window_s: float | None = None
    connect_s: float | None = None  # opening every socket, before the first prompt
    tokens_shown: int | None = None
    server_cpu_s: float | None = None
    server_cpu_share: float | None = None  # CPU seconds per wall second: 1.0 is one core flat out
    cpu_us_per_reveal: float | None = None
    cpu_us_per_token: float | None = None
    idle_rss_mb: float | None = None
    peak_rss_mb: float | None = None
    memory_per_stream_kb: float | None = None
    client_cpu_share: float | None = None
    client_loop_lag_p99_ms: float | None = None
    errors: list[str] = field(default_factory=list)  # the first few distinct ones
    stream_seconds: float | None = None  # summed over completed streams, prompt sent to final status
    single_stream_s: float | None = None  # a single stream's length, prompt to final status (baseline mean)
    # CPU per completed stream over a single stream's length: what one second of a stream costs at
    # the unloaded schedule (under load streams queue and stretch, which would flatter a per-wall-second figure).
    cpu_ms_per_stream_second: float | None = None
    bytes_per_stream: float | None = None  # every frame's payload, mean over completed streams
    answer_html_bytes: float | None = None  # the finished answer's HTML, mean over completed streams
    bytes_over_answer_html: float | None = None
    rss_after_mb: float | None = None  # when the last stream ended (all kept for resume)
    memory_per_finished_stream_kb: float | None = None  # upper bound: RSS keeps the allocator's high water
    floor: FloorFigures | None = None
    cpu_over_floor: float | None = None  # CPU per stream-second, streamui / the floor consumer
    processes: int = 1  # Daphne processes serving the run
    load_average: float | None = None  # the machine's 1-minute load average just before the load run
    cluster: ClusterFigures | None = None  # with Redis behind nginx

    def count_streams(self, streams: Iterable[dict[str, Any]]) -> None:
        ends: dict[str, int] = {}
        errors: list[str] = []
        busy = 0
        for s in streams:
            ends[s["end"]] = ends.get(s["end"], 0) + 1
            busy += bool(s["error"] and BUSY in s["error"])
            if s["error"] and s["error"] not in errors and len(errors) < 5:
                errors.append(s["error"])
        self.streams_refused_busy = busy
        self.streams_completed = ends.get("done", 0)
        self.streams_cut = ends.get("cut", 0)
        self.streams_failed = sum(n for end, n in ends.items() if end not in ("done", "cut"))
        self.streams_started = self.streams_completed + self.streams_cut + sum(
            n for end, n in ends.items() if end in ("stopped", "interrupted", "error")) - self.streams_refused_busy
        self.errors = errors

    def finish(self) -> None:
        """The derived figures, once the measured ones are in."""
        if self.load.gap_p99_ms is not None and self.baseline.gap_p99_ms is not None:
            self.p99_excess_ms = round(self.load.gap_p99_ms - self.baseline.gap_p99_ms, 2)
            self.target_met = (self.p99_excess_ms <= self.target_p99_excess_ms
                               and self.streams_completed == self.clients)
        if self.server_cpu_s is not None:
            if self.window_s:
                self.server_cpu_share = round(self.server_cpu_s / self.window_s, 3)
            if self.load.reveals:
                self.cpu_us_per_reveal = round(self.server_cpu_s * 1e6 / self.load.reveals, 1)
            if self.tokens_shown:
                self.cpu_us_per_token = round(self.server_cpu_s * 1e6 / self.tokens_shown, 1)
        if self.server_cpu_s is not None and self.single_stream_s and self.streams_completed:
            self.cpu_ms_per_stream_second = round(
                self.server_cpu_s * 1000 / self.streams_completed / self.single_stream_s, 3)
        if self.bytes_per_stream and self.answer_html_bytes:
            self.bytes_over_answer_html = round(self.bytes_per_stream / self.answer_html_bytes, 2)
        if self.rss_after_mb is not None and self.idle_rss_mb is not None and self.streams_completed:
            self.memory_per_finished_stream_kb = round(
                (self.rss_after_mb - self.idle_rss_mb) * 1024 / self.streams_completed, 1)
        if self.floor is not None and self.floor.cpu_ms_per_stream_second and self.cpu_ms_per_stream_second:
            self.cpu_over_floor = round(self.cpu_ms_per_stream_second / self.floor.cpu_ms_per_stream_second, 2)
        if self.peak_rss_mb is not None and self.idle_rss_mb is not None and self.peak_concurrent:
            self.memory_per_stream_kb = round((self.peak_rss_mb - self.idle_rss_mb) * 1024 / self.peak_concurrent, 1)
        if self.cluster is not None:
            self.cluster.finish(self.peak_concurrent)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _fmt(value: object, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        text = f"{value:,.1f}" if abs(value) >= 10 or value == 0 else f"{value:.3g}"
    else:
        text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
    return f"{text} {unit}".rstrip()


def _verdict(met: bool | None) -> str:
    return "met" if met else "NOT met" if met is False else "–"


def render_table(report: LoadReport) -> str:
    r, load, base = report, report.load, report.baseline
    rows: list[tuple[str, str, str]] = [
        ("clients / upstream / strategy", f"{r.clients} / {r.upstream} / {r.strategy}",
         "live figures on" if r.figures else "no live figures"),
        ("Daphne processes", _fmt(r.processes), "with Redis, behind nginx" if r.cluster is not None else ""),
        ("streams started / completed", f"{r.streams_started} / {r.streams_completed}", _fmt(base.streams)),
        ("streams cut at deadline / failed", f"{r.streams_cut} / {r.streams_failed}",
         f"{r.streams_refused_busy} refused as busy" if r.streams_refused_busy else ""),
        ("peak concurrent streams", _fmt(r.peak_concurrent), "1"),
        ("all sockets open after", _fmt(r.connect_s, "s"), ""),
        ("reveals seen by clients", _fmt(load.reveals), _fmt(base.reveals)),
        ("reveal gap p50", _fmt(load.gap_p50_ms, "ms"), _fmt(base.gap_p50_ms, "ms")),
        ("reveal gap p99", _fmt(load.gap_p99_ms, "ms"), _fmt(base.gap_p99_ms, "ms")),
        ("reveal gap max", _fmt(load.gap_max_ms, "ms"), _fmt(base.gap_max_ms, "ms")),
        ("p99 excess over single stream", _fmt(r.p99_excess_ms, "ms"),
         f"target <= {r.target_p99_excess_ms:g} ms: {_verdict(r.target_met)}"),
        ("first reveal p50 / p99", f"{_fmt(load.first_reveal_p50_ms, 'ms')} / {_fmt(load.first_reveal_p99_ms, 'ms')}",
         f"{_fmt(base.first_reveal_p50_ms, 'ms')} / {_fmt(base.first_reveal_p99_ms, 'ms')}"),
        ("server CPU (share of one core)", f"{_fmt(r.server_cpu_s, 's')} ({_fmt(r.server_cpu_share)})",
         f"over {_fmt(r.window_s, 's')}"),
        ("server CPU per reveal", _fmt(r.cpu_us_per_reveal, "µs"), ""),
        ("server CPU per token shown", _fmt(r.cpu_us_per_token, "µs"), f"{_fmt(r.tokens_shown)} tokens"),
        ("server RSS idle / peak", f"{_fmt(r.idle_rss_mb, 'MB')} / {_fmt(r.peak_rss_mb, 'MB')}", ""),
        ("memory per stream", _fmt(r.memory_per_stream_kb, "KB"), ""),
        ("client CPU share / loop lag p99", f"{_fmt(r.client_cpu_share)} / {_fmt(r.client_loop_lag_p99_ms, 'ms')}", ""),
        ("server CPU per stream-second", _fmt(r.cpu_ms_per_stream_second, "ms"), ""),
        ("bytes per stream / answer HTML", f"{_fmt(r.bytes_per_stream, 'B')} / {_fmt(r.answer_html_bytes, 'B')}",
         f"{_fmt(r.bytes_over_answer_html)}x"),
        ("memory per finished stream (upper bound)", _fmt(r.memory_per_finished_stream_kb, "KB"), ""),
    ]
    c = r.cluster
    if c is not None:
        for n, p in enumerate(c.per_process):
            rows.append((f"process {n + 1} (:{p.port}): sockets / CPU share",
                         f"{_fmt(p.websockets)} / {_fmt(p.cpu_s, 's')} ({_fmt(p.cpu_share)})",
                         f"RSS {_fmt(p.idle_rss_mb, 'MB')} -> {_fmt(p.peak_rss_mb, 'MB')}"))
        rows += [
            ("redis-server CPU (share)", f"{_fmt(c.redis_cpu_s, 's')} ({_fmt(c.redis_cpu_share)})", ""),
            ("nginx CPU (share)", f"{_fmt(c.nginx_cpu_s, 's')} ({_fmt(c.nginx_cpu_share)})", ""),
            ("redis used memory idle / peak / after",
             f"{_fmt(c.redis_idle_mb, 'MB')} / {_fmt(c.redis_peak_mb, 'MB')} / {_fmt(c.redis_after_mb, 'MB')}",
             f"{_fmt(c.redis_kb_per_live_stream, 'KB')} per live stream"),
            ("journal keys after / MEMORY USAGE / entries", f"{_fmt(c.journal_keys)} / "
             f"{_fmt(None if c.journal_key_bytes is None else c.journal_key_bytes / 1024, 'KB')} / "
             f"{_fmt(c.journal_entries)}", "mean per key"),
        ]
    f = r.floor
    if f is not None:
        rows += [
            ("floor: frames / bytes / rate", f"{f.frames} / {f.frame_bytes} B / {f.hz:g} Hz", "as streamui's run"),
            ("floor: streams completed", _fmt(f.completed), _fmt(f.baseline.streams)),
            ("floor: reveal gap p99", _fmt(f.load.gap_p99_ms, "ms"), _fmt(f.baseline.gap_p99_ms, "ms")),
            ("floor: p99 excess over single stream", _fmt(f.p99_excess_ms, "ms"), ""),
            ("floor: first reveal p50", _fmt(f.load.first_reveal_p50_ms, "ms"),
             _fmt(f.baseline.first_reveal_p50_ms, "ms")),
            ("floor: server CPU per stream-second", _fmt(f.cpu_ms_per_stream_second, "ms"), _fmt(f.server_cpu_s, "s")),
            ("floor: server CPU per frame", _fmt(f.cpu_us_per_frame, "µs"), ""),
            ("streamui CPU over the floor", f"{_fmt(r.cpu_over_floor)}x", "per stream-second"),
        ]
    widths = [max(len(row[i]) for row in [*rows, ("figure", "under load", "single stream")]) for i in range(3)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(("figure", "under load", "single stream"), widths, strict=False)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) for row in rows]
    if r.errors:
        lines.append("errors: " + "; ".join(r.errors))
    return "\n".join(lines)


__all__ = ["TARGET_P99_EXCESS_MS", "ClusterFigures", "FloorFigures", "GapFigures", "LoadReport", "ProcessFigures",
           "render_table"]
