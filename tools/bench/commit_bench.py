"""The commit stage on the trace corpus: retractions, hold delay, and the whole pipeline's pace.

Each trace is run through the live chat pipeline on a virtual clock
(`streamui.pipeline.virtual.run_pipeline`: the chat pipeline's commit stage, then a
smoothing strategy, on its virtual-clock driver) once
per correction policy and strategy, and measured:

- visible retractions: characters that were on screen and later removed or
  changed (`visible.retracted_chars` over the answer text after every reveal
  and mark), for our pipeline and for a naive renderer without a commit stage that
  shows drafts as they arrive and removes them on rollback (`naive_states`);
- the hold the commit stage added (`CommitStats.hold_delays`: commit time minus
  arrival of the commit's first character), p50 / p95 / max (nearest rank);
- corrections taken back (`stats.corrections`) and openers that came too late to
  take anything back (`stats.late_corrections`);
- the reveal schedule with the smoothing bench's metrics (metrics.py), against the
  upstream's answer text (`trace_bench.text_arrivals`), and its stall time against
  passthrough without a commit stage; `+ttft` counts from the first visible
  upstream text, so it includes the commit stage's hold, and `smooth` is the
  smoothing stage's share (first visible reveal minus first visible commit): the
  "0 ms added time to first token (at most a frame)" target applies to `smooth`,
  the hold being the commit stage's own figure (`hold50/95/max`).

`rate` re-times each trace to that many tokens per second (`retime`), since the
hold a sentence needs depends on how fast its tokens come.

Run on the default corpus (no TRACE given) with `replace` among the policies, it
then also reports the correction detector on the corrections corpus
(`corrections_bench`): precision, recall, late rate and garbled answers per split
and timing, as written and after a lead paragraph.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from streamui.pipeline.commit import CommitStage
from streamui.pipeline.corrections import Struck, make_policy
from streamui.pipeline.smoothing import Arrival, make_strategy
from streamui.pipeline.virtual import PipelineRun, run_pipeline, simulate
from streamui.upstream.events import DraftDelta, ReasoningDelta, TextDelta
from streamui.upstream.tokens import split_tokens
from streamui.upstream.traces import TimedEvent, Trace, TraceFormatError, load_trace

from . import corrections_bench
from .metrics import STALL_THRESHOLD, ScheduleMetrics, contract_violations, measure, percentile
from .trace_bench import text_arrivals
from .visible import PlacedMark, naive_states, retracted_chars, visible_states

DEFAULT_POLICIES = ("replace", "annotate", "passthrough")
DEFAULT_STRATEGIES = ("adaptive",)
BASELINE = "passthrough"
WORSE_MARGIN = 0.1
SPLIT_ORDER = {"tuning": 0, "heldout": 1}


def retime(trace: Trace, rate: float) -> Trace:
    """A copy of `trace` delivering `rate` tokens per second.

    Text, draft and reasoning events are cut into tokens (cl100k_base, as the
    simulated LLM cuts them); the first token comes at the trace's first event time,
    each next one 1/rate later. Every other event (rollback, confirm, tool call,
    usage, end, error) keeps its place in the order, at the time of the token before
    it. So a rollback still drops the same draft characters and a confirm still
    confirms the same draft; only the pace changes.
    """
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    if not trace.events:
        return Trace(trace.name, [], dict(trace.header))
    t0 = trace.events[0].t
    slot = -1
    out: list[TimedEvent] = []
    for timed in trace.events:
        ev = timed.event
        if isinstance(ev, (TextDelta, DraftDelta, ReasoningDelta)) and ev.text:
            for token in split_tokens(ev.text):
                slot += 1
                out.append(TimedEvent(round(t0 + slot / rate, 6), type(ev)(token)))
        else:
            out.append(TimedEvent(round(t0 + max(slot, 0) / rate, 6), ev))
    return Trace(trace.name, out, {**trace.header, "retimed_rate": rate})


@dataclass(frozen=True, slots=True)
class CommitResult:
    trace: str
    split: str
    policy: str
    strategy: str
    retracted: int
    """Characters our pipeline showed and later removed or changed."""
    naive_retracted: int
    """The same for a renderer without a commit stage (drafts shown, rollbacks removed)."""
    holds: tuple[float, ...]
    corrections: int
    late_corrections: int
    dropped_chars: int
    metrics: ScheduleMetrics
    """The reveal schedule, against the upstream's answer text."""
    baseline_stall: float
    """Stall time of passthrough without a commit stage."""
    smoothing_ttft: float
    """First visible reveal minus first visible commit: the smoothing stage's share of `+ttft`."""
    violations: tuple[str, ...]

    @property
    def hold_p50(self) -> float:
        return percentile(self.holds, 50)

    @property
    def hold_p95(self) -> float:
        return percentile(self.holds, 95)

    @property
    def hold_max(self) -> float:
        return max(self.holds, default=0.0)


@dataclass(slots=True)
class CommitReport:
    policies: list[str]
    strategies: list[str]
    rate: float | None = None
    results: list[CommitResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _first_visible(items: Sequence[Arrival]) -> float | None:
    return next((a.t for a in items if a.text.strip()), None)


def pipeline_violations(trace: Trace, run: PipelineRun) -> list[str]:
    """Broken promises of the pipeline: the reveals are not the committed text (or
    come before it), or the committed text plus what the policy took out is not the
    upstream's answer text."""
    problems = [f"smoothing: {p}" for p in contract_violations(run.commits, run.schedule)]
    committed = sum(len(c.text) for c in run.commits)
    struck = sum(
        len(m.mark.text) for m in run.visible if isinstance(m, PlacedMark) and isinstance(m.mark, Struck)
    )
    expected = len(trace.text)
    # (A <think> span in the content goes to reasoning, tags and all: not checked then.)
    if committed + struck + run.stage.stats.dropped_chars != expected and "<think" not in trace.text:
        problems.append(
            f"commit: {committed} committed + {struck} struck + {run.stage.stats.dropped_chars} dropped "
            f"chars, but the answer has {expected}"
        )
    return problems


def bench_trace(
    trace: Trace,
    policy: str,
    strategy: str,
    *,
    naive_retracted: int | None = None,
    baseline_stall: float | None = None,
) -> tuple[CommitResult, PipelineRun]:
    """One trace through the commit stage under `policy`, then `strategy`, measured."""
    arrivals, end_t = text_arrivals(trace)
    if naive_retracted is None:
        naive_retracted = retracted_chars(naive_states(trace.events))
    if baseline_stall is None:
        baseline_stall = measure(arrivals, simulate(make_strategy(BASELINE), arrivals, end_t)).stall_time
    stage = CommitStage(policy)
    run = run_pipeline(stage, make_strategy(strategy), trace.events, end_t=end_t)
    metrics = measure(arrivals, run.schedule)
    first_commit = _first_visible(run.commits)
    first_reveal = _first_visible(run.schedule)
    smoothing_ttft = (
        first_reveal - first_commit if first_commit is not None and first_reveal is not None else 0.0
    )
    result = CommitResult(
        trace=trace.name,
        split=str(trace.header.get("split", "-")),
        policy=policy,
        strategy=strategy,
        retracted=retracted_chars(visible_states(run)),
        naive_retracted=naive_retracted,
        holds=tuple(stage.stats.hold_delays()),
        corrections=stage.stats.corrections,
        late_corrections=stage.stats.late_corrections,
        dropped_chars=stage.stats.dropped_chars,
        metrics=metrics,
        baseline_stall=baseline_stall,
        smoothing_ttft=smoothing_ttft,
        violations=tuple(pipeline_violations(trace, run)),
    )
    return result, run


def run(
    paths: Sequence[Path],
    policies: Sequence[str] = DEFAULT_POLICIES,
    strategies: Sequence[str] = DEFAULT_STRATEGIES,
    *,
    rate: float | None = None,
    split: str | None = None,
    schedule_out: Path | None = None,
) -> CommitReport:
    for policy in policies:
        make_policy(policy)  # unknown names fail before any work
    for name in strategies:
        make_strategy(name)
    report = CommitReport(list(policies), list(strategies), rate)
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
        if split is not None and str(trace.header.get("split", "-")) != split:
            continue
        if rate is not None:
            trace = retime(trace, rate)
        arrivals, end_t = text_arrivals(trace)
        if not arrivals:
            report.errors.append(f"{path}: no answer text to smooth")
            continue
        naive = retracted_chars(naive_states(trace.events))
        base = measure(arrivals, simulate(make_strategy(BASELINE), arrivals, end_t)).stall_time
        for policy in policies:
            for strategy in strategies:
                result, pipeline = bench_trace(
                    trace, policy, strategy, naive_retracted=naive, baseline_stall=base
                )
                report.results.append(result)
                report.errors.extend(f"{path}: {policy}+{strategy}: {v}" for v in result.violations)
                if schedule_out is not None:
                    _write_schedule(schedule_out / f"{path.stem}.{policy}.{strategy}.jsonl", pipeline)
    return report


def _write_schedule(path: Path, pipeline: PipelineRun) -> None:
    """One line per thing shown: {"t", "text"} for a reveal, {"t", "mark", ...} for a mark."""
    with path.open("w", encoding="utf-8") as fh:
        for item in pipeline.visible:
            if isinstance(item, Arrival):
                row: dict[str, object] = {"t": round(item.t, 6), "text": item.text}
            else:
                row = {"t": round(item.t, 6), "mark": type(item.mark).__name__.lower(), **asdict(item.mark)}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


@dataclass(frozen=True, slots=True)
class CommitTotals:
    traces: int
    retracted: int
    naive_retracted: int
    hold_p50: float
    hold_p95: float
    hold_max: float
    commits: int
    corrections: int
    late_corrections: int
    max_added_ttft: float
    mean_added_ttft: float
    max_smoothing_ttft: float
    max_completion: float
    max_largest_gap: float
    stall_time: float
    baseline_stall_time: float
    stall_reduction: float | None
    worse_traces: int
    max_burst_chars: int
    max_reveals_per_second: int


def totals(results: Sequence[CommitResult]) -> CommitTotals:
    holds = [h for r in results for h in r.holds]
    m = [r.metrics for r in results]
    stall = sum(x.stall_time for x in m)
    base = sum(r.baseline_stall for r in results)
    return CommitTotals(
        traces=len(results),
        retracted=sum(r.retracted for r in results),
        naive_retracted=sum(r.naive_retracted for r in results),
        hold_p50=percentile(holds, 50),
        hold_p95=percentile(holds, 95),
        hold_max=max(holds, default=0.0),
        commits=len(holds),
        corrections=sum(r.corrections for r in results),
        late_corrections=sum(r.late_corrections for r in results),
        max_added_ttft=max(x.added_ttft for x in m),
        mean_added_ttft=sum(x.added_ttft for x in m) / len(m),
        max_smoothing_ttft=max(r.smoothing_ttft for r in results),
        max_completion=max(x.completion_delay for x in m),
        max_largest_gap=max(x.largest_gap for x in m),
        stall_time=stall,
        baseline_stall_time=base,
        stall_reduction=1 - stall / base if base > 0 else None,
        worse_traces=sum(1 for r in results if r.metrics.stall_time > r.baseline_stall + WORSE_MARGIN),
        max_burst_chars=max(x.max_burst_chars for x in m),
        max_reveals_per_second=max(x.max_reveals_per_second for x in m),
    )


def grouped_totals(report: CommitReport) -> dict[str, dict[tuple[str, str], CommitTotals]]:
    """Totals per split (and "all"), per (policy, strategy), in the order asked for."""
    splits = sorted(
        {r.split for r in report.results}, key=lambda s: (SPLIT_ORDER.get(s, len(SPLIT_ORDER)), s)
    )
    groups = {s: [r for r in report.results if r.split == s] for s in splits}
    if len(splits) > 1:
        groups["all"] = report.results
    out: dict[str, dict[tuple[str, str], CommitTotals]] = {}
    for group, rows in groups.items():
        out[group] = {}
        for policy in report.policies:
            for strategy in report.strategies:
                mine = [r for r in rows if r.policy == policy and r.strategy == strategy]
                if mine:
                    out[group][(policy, strategy)] = totals(mine)
    return out


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def _vs(reduction: float | None) -> str:
    return "-" if reduction is None else f"{-reduction * 100:+.1f}%".replace("-0.0", "+0.0")


TRACE_HEADER = (
    f"{'trace':<16} {'split':<8} {'policy':<11} {'strategy':<11} {'retract':>7} {'naive':>6} "
    f"{'hold50':>6} {'hold95':>6} {'holdmax':>7} {'corr':>4} {'late':>4} "
    f"{'+ttft':>6} {'smooth':>6} {'done':>5} {'maxgap':>6} {'stall':>6} {'pass':>6} {'c/100ms':>7}"
)

TOTALS_HEADER = (
    f"{'split':<8} {'policy':<11} {'strategy':<11} {'traces':>6} {'retract':>7} {'naive':>6} "
    f"{'hold50':>6} {'hold95':>6} {'holdmax':>7} {'corr':>4} {'late':>4} "
    f"{'+ttft':>6} {'avg':>4} {'smooth':>6} {'done':>5} {'maxgap':>6} {'stall s':>7} {'pass s':>7} {'vs pass':>8} "
    f"{'worse':>5} {'c/100ms':>7} {'rev/s':>5}"
)


def format_trace_row(r: CommitResult) -> str:
    m = r.metrics
    return (
        f"{r.trace:<16} {r.split:<8} {r.policy:<11} {r.strategy:<11} {r.retracted:>7} {r.naive_retracted:>6} "
        f"{_ms(r.hold_p50):>6} {_ms(r.hold_p95):>6} {_ms(r.hold_max):>7} {r.corrections:>4} "
        f"{r.late_corrections:>4} {_ms(m.added_ttft):>6} {_ms(r.smoothing_ttft):>6} "
        f"{_ms(m.completion_delay):>5} {_ms(m.largest_gap):>6} {_ms(m.stall_time):>6} "
        f"{_ms(r.baseline_stall):>6} {m.max_burst_chars:>7}"
    )


def format_totals_row(split: str, policy: str, strategy: str, t: CommitTotals) -> str:
    return (
        f"{split:<8} {policy:<11} {strategy:<11} {t.traces:>6} {t.retracted:>7} {t.naive_retracted:>6} "
        f"{_ms(t.hold_p50):>6} {_ms(t.hold_p95):>6} "
        f"{_ms(t.hold_max):>7} {t.corrections:>4} {t.late_corrections:>4} {_ms(t.max_added_ttft):>6} "
        f"{_ms(t.mean_added_ttft):>4} {_ms(t.max_smoothing_ttft):>6} {_ms(t.max_completion):>5} "
        f"{_ms(t.max_largest_gap):>6} "
        f"{t.stall_time:>7.3f} {t.baseline_stall_time:>7.3f} {_vs(t.stall_reduction):>8} {t.worse_traces:>5} "
        f"{t.max_burst_chars:>7} {t.max_reveals_per_second:>5}"
    )


LEGEND = (
    "times in ms unless marked; retract: chars shown then removed or changed (naive: a renderer without the "
    "commit stage, drafts shown until rolled back); hold50/95/max: the commit stage's hold per commit "
    "(nearest rank, pooled in the totals); corr: "
    "corrections taken back; late: openers after their sentence was shown; +ttft: first visible reveal - "
    "first visible upstream text (commit hold included; avg: its mean), smooth: the smoothing stage's share; "
    "done: last reveal - last "
    "text arrival; maxgap, stall (time above "
    f"{STALL_THRESHOLD * 1000:.0f} ms summed over gaps between visible reveals), pass: passthrough without "
    f"commit stage; worse: traces with more stall than that + {WORSE_MARGIN * 1000:.0f} ms; c/100ms: most "
    "chars revealed within 100 ms; rev/s: most reveals within a second; totals: sums, or maxima over traces"
)


def write_text(report: CommitReport, out: IO[str], *, summary: bool = False) -> None:
    timing = "recorded timing" if report.rate is None else f"re-timed to {report.rate:g} tokens/s"
    out.write(f"commit stage + smoothing, {timing}\n")
    if not summary:
        out.write(TRACE_HEADER + "\n")
        for r in report.results:
            out.write(format_trace_row(r) + "\n")
        out.write("\n")
    out.write(TOTALS_HEADER + "\n")
    for split, by in grouped_totals(report).items():
        for (policy, strategy), t in by.items():
            out.write(format_totals_row(split, policy, strategy, t) + "\n")
    out.write(LEGEND + "\n")


def to_json(report: CommitReport) -> dict[str, object]:
    rows = []
    for r in report.results:
        metrics = asdict(r.metrics)
        del metrics["gaps"]
        rows.append(
            {
                "trace": r.trace,
                "split": r.split,
                "policy": r.policy,
                "strategy": r.strategy,
                "retracted": r.retracted,
                "naive_retracted": r.naive_retracted,
                "hold_p50": r.hold_p50,
                "hold_p95": r.hold_p95,
                "hold_max": r.hold_max,
                "commits": len(r.holds),
                "corrections": r.corrections,
                "late_corrections": r.late_corrections,
                "dropped_chars": r.dropped_chars,
                "smoothing_ttft": r.smoothing_ttft,
                **metrics,
                "baseline_stall_time": r.baseline_stall,
            }
        )
    grouped = {
        split: {f"{policy}+{strategy}": asdict(t) for (policy, strategy), t in by.items()}
        for split, by in grouped_totals(report).items()
    }
    return {"rate": report.rate, "traces": rows, "totals": grouped, "errors": report.errors}


def main(opts: Mapping[str, Any], paths: Sequence[Path], out: IO[str], err: IO[str]) -> int:
    """`streamui_bench --commit`: the exit status, 1 if any trace failed, 2 for bad options."""
    policies = list(opts.get("policies") or DEFAULT_POLICIES)
    strategies = list(opts.get("strategies") or DEFAULT_STRATEGIES)
    rate = opts.get("rate")
    try:
        if rate is not None and rate <= 0:
            raise ValueError(f"--rate must be positive, got {rate}")
        report = run(
            paths,
            policies,
            strategies,
            rate=rate,
            split=opts.get("split"),
            schedule_out=opts.get("schedule_out"),
        )
    except ValueError as exc:
        err.write(f"error: {exc}\n")
        return 2
    for error in report.errors:
        err.write(f"error: {error}\n")
    corrections = _corrections(opts, policies, err)
    if opts.get("json"):
        data = to_json(report)
        if corrections is not None:
            data["corrections"] = [corrections_bench.to_json(c) for c in corrections]
        json.dump(data, out, indent=1)
        out.write("\n")
    else:
        if report.results:
            write_text(report, out, summary=bool(opts.get("summary")))
        for c in corrections or []:
            out.write("\n")
            corrections_bench.write_text(c, out)
    return 1 if report.errors or corrections == [] else 0


def _corrections(
    opts: Mapping[str, Any], policies: Sequence[str], err: IO[str]
) -> list[corrections_bench.CorrectionsReport] | None:
    """The corrections corpus, on a default run (no TRACE) that includes `replace`; [] if it failed."""
    if opts.get("traces") or "replace" not in policies:
        return None
    try:
        reports = corrections_bench.run_both()
    except (OSError, corrections_bench.CorpusError) as exc:
        err.write(f"error: corrections corpus: {exc}\n")
        return []
    split = opts.get("split")
    if split is not None:
        for r in reports:
            r.totals = {k: t for k, t in r.totals.items() if k[0] == split}
    return reports


__all__ = [
    "DEFAULT_POLICIES",
    "DEFAULT_STRATEGIES",
    "CommitReport",
    "CommitResult",
    "CommitTotals",
    "bench_trace",
    "grouped_totals",
    "main",
    "pipeline_violations",
    "retime",
    "run",
    "to_json",
    "totals",
    "write_text",
]
