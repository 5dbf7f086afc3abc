"""How many streams K processes carry within the p99 target: runs at rising client counts.

For each client count, smallest first, every process count still in the race gets one
load run (interleaved, so a machine that gets busier mid-search burdens all of them
alike); a process count drops out after its first miss (target: p99 reveal-gap excess
over the single stream measured in the same run at most 50 ms, every stream done). Its
capacity is the largest count it met. Every run, one process included, is Redis behind
nginx, so the ratio compares the same stack with more processes, not a different stack.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .report import TARGET_P99_EXCESS_MS, LoadReport
from .runner import LoadOptions, run_load

Runner = Callable[[LoadOptions], LoadReport]


@dataclass(slots=True)
class CapacityRow:
    processes: int
    clients: int
    completed: int
    p99_excess_ms: float | None
    met: bool
    first_reveal_p50_ms: float | None
    gap_p99_ms: float | None
    single_gap_p99_ms: float | None
    server_cpu_share: float | None  # summed over the processes
    process_cpu_shares: list[float | None]
    process_sockets: list[int | None]
    redis_cpu_share: float | None
    nginx_cpu_share: float | None
    redis_kb_per_live_stream: float | None
    journal_key_kb: float | None
    load_average: float  # 1-minute load average just before the run

    @classmethod
    def from_report(cls, report: LoadReport, load_average: float) -> CapacityRow:
        c = report.cluster
        return cls(
            processes=report.processes, clients=report.clients, completed=report.streams_completed,
            p99_excess_ms=report.p99_excess_ms, met=bool(report.target_met),
            first_reveal_p50_ms=report.load.first_reveal_p50_ms, gap_p99_ms=report.load.gap_p99_ms,
            single_gap_p99_ms=report.baseline.gap_p99_ms, server_cpu_share=report.server_cpu_share,
            process_cpu_shares=[p.cpu_share for p in c.per_process] if c else [],
            process_sockets=[p.websockets for p in c.per_process] if c else [],
            redis_cpu_share=c.redis_cpu_share if c else None, nginx_cpu_share=c.nginx_cpu_share if c else None,
            redis_kb_per_live_stream=c.redis_kb_per_live_stream if c else None,
            journal_key_kb=None if c is None or c.journal_key_bytes is None else round(c.journal_key_bytes / 1024, 2),
            load_average=round(load_average, 2),
        )


@dataclass(slots=True)
class CapacityReport:
    target_p99_excess_ms: float = TARGET_P99_EXCESS_MS
    rows: list[CapacityRow] = field(default_factory=list)
    capacity: dict[int, int | None] = field(default_factory=dict)  # largest client count met, per process count
    lower_bound: dict[int, bool] = field(default_factory=dict)  # met even the largest count tried
    ratio: float | None = None  # capacity of the most processes over that of the fewest
    reports: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def run_capacity(base: LoadOptions, processes: Sequence[int], clients: Sequence[int],
                 log: Callable[[str], None] = lambda message: None, runner: Runner | None = None,
                 retries: int = 0) -> CapacityReport:
    """`retries`: run a missed count again up to this many times before the process count drops out.
    On a shared machine other work only ever makes a run worse, so a miss may be the neighbours'."""
    run = runner or (lambda options: run_load(options, log=log))
    kinds = sorted(set(processes))
    counts = sorted(set(clients))
    report = CapacityReport(capacity={k: None for k in kinds}, lower_bound={k: False for k in kinds})
    racing = list(kinds)
    for n in counts:
        for k in list(racing):
            options = dataclasses.replace(base, processes=k, clients=n, redis=True, floor=False)
            options.validate()
            for _attempt in range(retries + 1):
                load_average = os.getloadavg()[0]
                log(f"capacity: {k} process(es), {n} clients (load average {load_average:.2f})")
                result = run(options)
                row = CapacityRow.from_report(result, load_average)
                report.rows.append(row)
                log(f"capacity: {k} process(es), {n} clients: {row.completed}/{n} done, p99 excess "
                    f"{row.p99_excess_ms} ms ({'met' if row.met else 'missed'}), first reveal p50 "
                    f"{row.first_reveal_p50_ms} ms, Daphne cores {row.server_cpu_share}")
                report.reports.append(result.as_dict())
                if row.met:
                    break
            if row.met:
                report.capacity[k] = n
                report.lower_bound[k] = n == counts[-1]
            else:
                racing.remove(k)
        if not racing:
            break
    low, high = report.capacity[kinds[0]], report.capacity[kinds[-1]]
    if len(kinds) > 1 and low and high is not None:
        report.ratio = round(high / low, 2)
    return report


def _cell(value: object, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def render_capacity(report: CapacityReport) -> str:
    head = ("processes", "clients", "done", "gap p99 / single", "p99 excess", "met", "first reveal p50",
            "Daphne CPU (each)", "sockets (each)", "redis CPU", "nginx CPU", "redis KB/live stream",
            "journal key KB", "load avg")
    rows = [head]
    for r in report.rows:
        rows.append((
            str(r.processes), str(r.clients), f"{r.completed}/{r.clients}",
            f"{_cell(r.gap_p99_ms)} / {_cell(r.single_gap_p99_ms)} ms", f"{_cell(r.p99_excess_ms)} ms",
            "yes" if r.met else "no", f"{_cell(r.first_reveal_p50_ms)} ms",
            f"{_cell(r.server_cpu_share, 2)} ({', '.join(_cell(s, 2) for s in r.process_cpu_shares)})",
            ", ".join(_cell(s) for s in r.process_sockets), _cell(r.redis_cpu_share, 3),
            _cell(r.nginx_cpu_share, 3), _cell(r.redis_kb_per_live_stream, 1), _cell(r.journal_key_kb, 1),
            _cell(r.load_average, 2),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    lines.append("")
    for k, n in report.capacity.items():
        bound = " (or more: the largest count tried)" if report.lower_bound[k] else ""
        lines.append(f"{k} process(es): {_cell(n)} streams within p99 excess <= "
                     f"{report.target_p99_excess_ms:g} ms{bound}")
    if report.ratio is not None:
        kinds = sorted(report.capacity)
        lines.append(f"{kinds[-1]} processes carry {report.ratio:.1f}x the streams of {kinds[0]}"
                     + (" (at least)" if report.lower_bound[kinds[-1]] else ""))
    return "\n".join(lines)


__all__ = ["CapacityReport", "CapacityRow", "render_capacity", "run_capacity"]
