"""Replay trace files through smoothing strategies on a virtual clock, and report.

Each trace's committed answer text is fed to a fresh strategy by `virtual.simulate` (the
chat pipeline the live pacer drives, on its virtual-clock driver) and the reveal schedule is measured
(metrics.py) and compared with passthrough and with the offline optimum
(optimum.py). Figures are grouped by the `split` in each trace's header
(tuning / heldout) and in total.

With `--commit`, each trace runs through the commit stage and then the strategy
instead (commit_bench.py): visible retractions, the hold the commit stage added,
corrections, and the whole pipeline's pace.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from streamui.pipeline.smoothing import Arrival, make_strategy, strategy_names
from streamui.pipeline.virtual import simulate
from streamui.upstream.events import Confirm, DraftDelta, End, Rollback, TextDelta, UpstreamError
from streamui.upstream.traces import Trace, TraceFormatError, load_trace

from .metrics import STALL_THRESHOLD, ScheduleMetrics, contract_violations, measure, percentile, visible_times
from .optimum import offline_optimum

BASELINE = "passthrough"
WORSE_MARGIN = 0.1  # seconds of stall beyond passthrough's that count a trace as made worse
SPLIT_ORDER = {"tuning": 0, "heldout": 1}
DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "bench" / "traces"


def text_arrivals(trace: Trace) -> tuple[list[Arrival], float]:
    """The committed answer text with its arrival times, and when the upstream ended.

    Only answer text is smoothed: reasoning, tool calls and usage are not. Draft text
    (speculative decoding) counts as arriving when it is confirmed, and rolled-back
    drafts never arrive: what a commit stage in front of the strategy passes on.
    """
    arrivals: list[Arrival] = []
    draft = ""
    end_t: float | None = None
    for timed in trace.events:
        ev = timed.event
        if isinstance(ev, TextDelta):
            if ev.text:
                arrivals.append(Arrival(timed.t, ev.text))
        elif isinstance(ev, DraftDelta):
            draft += ev.text
        elif isinstance(ev, Rollback):
            draft = draft[: max(0, len(draft) - ev.chars)]
        elif isinstance(ev, Confirm):
            if draft:
                arrivals.append(Arrival(timed.t, draft))
            draft = ""
        elif isinstance(ev, (End, UpstreamError)):
            end_t = timed.t
            break
    last = arrivals[-1].t if arrivals else 0.0
    return arrivals, max(last, trace.duration if end_t is None else end_t)


def trace_paths(args: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders as every *.jsonl beneath them, sorted."""
    out: list[Path] = []
    for arg in args:
        path = Path(arg)
        out.extend(sorted(path.rglob("*.jsonl")) if path.is_dir() else [path])
    return out


@dataclass(frozen=True, slots=True)
class Result:
    trace: str
    split: str
    strategy: str
    metrics: ScheduleMetrics
    baseline_stall: float
    optimum_gap: float | None
    tokens: int
    cpu: float
    violations: tuple[str, ...]


@dataclass(slots=True)
class Report:
    strategies: list[str]
    results: list[Result] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def run(
    paths: Sequence[Path],
    strategies: Sequence[str],
    *,
    schedule_out: Path | None = None,
    optimum: bool = True,
    split: str | None = None,
) -> Report:
    for name in strategies:
        make_strategy(name)  # unknown names fail before any work
    report = Report(list(strategies))
    if schedule_out is not None:
        schedule_out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        try:
            trace = load_trace(path)
        except TraceFormatError as exc:
            report.errors.append(str(exc))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            report.errors.append(f"{path}: {exc}")
            continue
        trace_split = str(trace.header.get("split", "-"))
        if split is not None and trace_split != split:
            continue
        arrivals, end_t = text_arrivals(trace)
        if not arrivals:
            report.errors.append(f"{path}: no answer text to smooth")
            continue
        baseline = measure(arrivals, simulate(make_strategy(BASELINE), arrivals, end_t))
        for name in strategies:
            strategy = make_strategy(name)
            started = time.process_time()
            schedule = simulate(strategy, arrivals, end_t)
            cpu = time.process_time() - started
            metrics = measure(arrivals, schedule)
            gap = None
            if optimum:
                first = visible_times(schedule)
                best = offline_optimum(arrivals, first[0], schedule[-1].t) if first else None
                gap = best.largest_gap if best else None
            violations = tuple(contract_violations(arrivals, schedule))
            report.errors.extend(f"{path}: {name}: {v}" for v in violations)
            report.results.append(
                Result(
                    trace.name,
                    trace_split,
                    name,
                    metrics,
                    baseline.stall_time,
                    gap,
                    len(arrivals),
                    cpu,
                    violations,
                )
            )
            if schedule_out is not None:
                write_schedule(schedule_out / f"{path.stem}.{name}.jsonl", schedule)
    return report


def write_schedule(path: Path, schedule: Sequence[Arrival]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for reveal in schedule:
            fh.write(json.dumps({"t": round(reveal.t, 6), "text": reveal.text}, ensure_ascii=False) + "\n")


@dataclass(frozen=True, slots=True)
class Totals:
    traces: int
    max_added_ttft: float
    max_completion: float
    mean_completion: float
    max_largest_gap: float
    mean_largest_gap: float
    p99_gap: float
    stall_time: float
    baseline_stall_time: float
    stall_reduction: float | None
    stall_count: int
    worse_traces: int
    max_burst_chars: int
    max_reveals_per_second: int
    mean_lag: float
    max_optimum_gap: float | None
    mean_optimum_gap: float | None
    cpu_us_per_token: float


def totals(results: Sequence[Result]) -> Totals:
    n = len(results)
    m = [r.metrics for r in results]
    stall = sum(x.stall_time for x in m)
    base = sum(r.baseline_stall for r in results)
    optima = [r.optimum_gap for r in results if r.optimum_gap is not None]
    tokens = sum(r.tokens for r in results)
    return Totals(
        traces=n,
        max_added_ttft=max(x.added_ttft for x in m),
        max_completion=max(x.completion_delay for x in m),
        mean_completion=sum(x.completion_delay for x in m) / n,
        max_largest_gap=max(x.largest_gap for x in m),
        mean_largest_gap=sum(x.largest_gap for x in m) / n,
        p99_gap=percentile([g for x in m for g in x.gaps], 99),
        stall_time=stall,
        baseline_stall_time=base,
        stall_reduction=1 - stall / base if base > 0 else None,
        stall_count=sum(x.stall_count for x in m),
        worse_traces=sum(1 for r in results if r.metrics.stall_time > r.baseline_stall + WORSE_MARGIN),
        max_burst_chars=max(x.max_burst_chars for x in m),
        max_reveals_per_second=max(x.max_reveals_per_second for x in m),
        mean_lag=sum(x.mean_lag for x in m) / n,
        max_optimum_gap=max(optima) if optima else None,
        mean_optimum_gap=sum(optima) / len(optima) if optima else None,
        cpu_us_per_token=sum(r.cpu for r in results) / tokens * 1e6 if tokens else 0.0,
    )


def grouped_totals(report: Report) -> dict[str, dict[str, Totals]]:
    """Totals per split (and "all"), per strategy, in the order strategies were asked for."""
    splits = sorted(
        {r.split for r in report.results}, key=lambda s: (SPLIT_ORDER.get(s, len(SPLIT_ORDER)), s)
    )
    groups = {s: [r for r in report.results if r.split == s] for s in splits}
    if len(splits) > 1:
        groups["all"] = report.results
    out: dict[str, dict[str, Totals]] = {}
    for group, rows in groups.items():
        out[group] = {
            name: totals([r for r in rows if r.strategy == name])
            for name in report.strategies
            if any(r.strategy == name for r in rows)
        }
    return out


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


TRACE_HEADER = (
    f"{'trace':<16} {'split':<8} {'strategy':<12} {'+ttft':>6} {'done':>6} {'maxgap':>7} {'p99gap':>7} "
    f"{'stall':>7} {'stalls':>6} {'c/100ms':>7} {'lag':>6} {'optgap':>7}"
)

TOTALS_HEADER = (
    f"{'split':<8} {'strategy':<12} {'traces':>6} {'+ttft':>6} {'done max':>8} {'done avg':>8} "
    f"{'maxgap':>7} {'avg maxgap':>10} {'p99gap':>7} {'stall s':>8} {'vs pass':>8} {'stalls':>6} "
    f"{'worse':>5} {'c/100ms':>7} {'rev/s':>5} {'lag':>5} {'opt max':>7} {'opt avg':>7} {'cpu us/tok':>10}"
)


def format_trace_row(r: Result) -> str:
    m = r.metrics
    return (
        f"{r.trace:<16} {r.split:<8} {r.strategy:<12} {_ms(m.added_ttft):>6} {_ms(m.completion_delay):>6} "
        f"{_ms(m.largest_gap):>7} {_ms(m.p99_gap):>7} {_ms(m.stall_time):>7} {m.stall_count:>6} "
        f"{m.max_burst_chars:>7} {_ms(m.mean_lag):>6} {_ms(r.optimum_gap):>7}"
    )


def format_totals_row(split: str, name: str, t: Totals) -> str:
    vs = "-" if t.stall_reduction is None else f"{-t.stall_reduction * 100:+.1f}%".replace("-0.0", "+0.0")
    return (
        f"{split:<8} {name:<12} {t.traces:>6} {_ms(t.max_added_ttft):>6} {_ms(t.max_completion):>8} "
        f"{_ms(t.mean_completion):>8} {_ms(t.max_largest_gap):>7} {_ms(t.mean_largest_gap):>10} "
        f"{_ms(t.p99_gap):>7} {t.stall_time:>8.3f} {vs:>8} {t.stall_count:>6} {t.worse_traces:>5} "
        f"{t.max_burst_chars:>7} {t.max_reveals_per_second:>5} {_ms(t.mean_lag):>5} "
        f"{_ms(t.max_optimum_gap):>7} {_ms(t.mean_optimum_gap):>7} {t.cpu_us_per_token:>10.1f}"
    )


LEGEND = (
    "times in ms unless marked; +ttft: added time to first visible token; done: completion delay "
    "(last reveal - last arrival); maxgap/p99gap: between visible reveals; stall: time above "
    f"{STALL_THRESHOLD * 1000:.0f} ms summed over gaps; worse: traces with more stall than passthrough "
    f"+ {WORSE_MARGIN * 1000:.0f} ms; c/100ms: most chars revealed within 100 ms; lag: mean wait of a "
    "char; opt: offline optimum largest gap for the same +ttft and done; cpu: simulate() process time "
    "per text event"
)


def write_text(report: Report, out: IO[str], *, summary: bool = False) -> None:
    if not summary:
        out.write(TRACE_HEADER + "\n")
        for r in report.results:
            out.write(format_trace_row(r) + "\n")
        out.write("\n")
    out.write(TOTALS_HEADER + "\n")
    for split, by_strategy in grouped_totals(report).items():
        for name, t in by_strategy.items():
            out.write(format_totals_row(split, name, t) + "\n")
    out.write(LEGEND + "\n")


def to_json(report: Report) -> dict[str, object]:
    rows = []
    for r in report.results:
        metrics = asdict(r.metrics)
        del metrics["gaps"]
        rows.append(
            {
                "trace": r.trace,
                "split": r.split,
                "strategy": r.strategy,
                **metrics,
                "baseline_stall_time": r.baseline_stall,
                "optimum_largest_gap": r.optimum_gap,
                "tokens": r.tokens,
                "cpu_seconds": r.cpu,
            }
        )
    grouped = {s: {n: asdict(t) for n, t in by.items()} for s, by in grouped_totals(report).items()}
    return {"traces": rows, "totals": grouped, "errors": report.errors}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "traces", nargs="*", metavar="TRACE", help="trace files or folders (default: the shipped corpus)"
    )
    parser.add_argument(
        "--strategy",
        action="append",
        dest="strategies",
        metavar="NAME",
        help=f"strategy to replay, repeatable (default: all: {', '.join(strategy_names())}; "
        "with --commit: adaptive)",
    )
    parser.add_argument("--schedule-out", type=Path, metavar="DIR", help="write each reveal schedule here")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--summary", action="store_true", help="print only the totals")
    parser.add_argument("--split", help="only traces whose header has this split (tuning, heldout)")
    parser.add_argument("--no-optimum", action="store_true", help="skip the offline optimum (faster)")
    parser.add_argument(
        "--commit",
        action="store_true",
        help="run the commit stage in front of the strategy and report retractions and hold delays",
    )
    parser.add_argument(
        "--policy",
        action="append",
        dest="policies",
        metavar="NAME",
        help="with --commit: correction policy, repeatable (default: replace, annotate, passthrough)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        metavar="TOK_PER_S",
        help="with --commit: re-time every trace to this many tokens per second (default: as recorded)",
    )


def main(opts: Mapping[str, Any], out: IO[str], err: IO[str]) -> int:
    """Run the bench with parsed options (see add_arguments); the exit status, 1 if any trace failed."""
    if opts.get("commit"):
        from . import commit_bench  # imports this module

        return commit_bench.main(opts, trace_paths(list(opts.get("traces") or [DEFAULT_CORPUS])), out, err)
    if opts.get("policies") or opts.get("rate") is not None:
        err.write("error: --policy and --rate need --commit\n")
        return 2
    strategies = list(opts.get("strategies") or strategy_names())
    try:
        for name in strategies:
            make_strategy(name)
    except ValueError as exc:
        err.write(f"error: {exc}\n")
        return 2
    traces = list(opts.get("traces") or [DEFAULT_CORPUS])
    report = run(
        trace_paths(traces),
        strategies,
        schedule_out=opts.get("schedule_out"),
        optimum=not opts.get("no_optimum"),
        split=opts.get("split"),
    )
    for error in report.errors:
        err.write(f"error: {error}\n")
    if opts.get("json"):
        json.dump(to_json(report), out, indent=1)
        out.write("\n")
    elif report.results:
        write_text(report, out, summary=bool(opts.get("summary")))
    return 1 if report.errors else 0


def cli(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.trace_bench", description=__doc__)
    add_arguments(parser)
    return main(vars(parser.parse_args(argv)), sys.stdout, sys.stderr)


__all__ = [
    "Report",
    "Result",
    "Totals",
    "add_arguments",
    "cli",
    "grouped_totals",
    "main",
    "run",
    "text_arrivals",
    "to_json",
    "totals",
    "trace_paths",
    "write_schedule",
    "write_text",
]


if __name__ == "__main__":
    raise SystemExit(cli())
