"""Per-arm figures for the A/B dashboard, computed from StreamRecords."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .models import StreamRecord
from .stats import TestResult, mann_whitney_u, percentile, two_proportion_z

STALL_MS = 250.0


def client_gaps(record: StreamRecord) -> list[float]:
    """Gaps between fragments as the browser saw them land (includes network and rendering)."""
    marks = (record.client_timings or {}).get("marks") or []
    return [b - a for a, b in itertools.pairwise(marks)]


def stall_ms(gaps: Iterable[float]) -> float:
    return sum(max(0.0, g - STALL_MS) for g in gaps)


@dataclass(slots=True)
class ArmSummary:
    arm: str
    streams: int = 0
    ttft_ms: list[float] = field(default_factory=list)
    reveal_gaps_ms: list[float] = field(default_factory=list)
    client_gaps_ms: list[float] = field(default_factory=list)
    completion_delays_ms: list[float] = field(default_factory=list)
    stalled_streams: int = 0
    stopped_streams: int = 0
    stall_ms_per_stream: list[float] = field(default_factory=list)

    @property
    def ttft_p50(self) -> float | None:
        return percentile(self.ttft_ms, 50)

    @property
    def ttft_p90(self) -> float | None:
        return percentile(self.ttft_ms, 90)

    @property
    def p99_gap(self) -> float | None:
        return percentile(self.reveal_gaps_ms, 99)

    @property
    def client_p99_gap(self) -> float | None:
        return percentile(self.client_gaps_ms, 99)

    @property
    def completion_p50(self) -> float | None:
        return percentile(self.completion_delays_ms, 50)

    @property
    def stall_rate(self) -> float | None:
        return self.stalled_streams / self.streams if self.streams else None

    @property
    def stop_rate(self) -> float | None:
        return self.stopped_streams / self.streams if self.streams else None


@dataclass(frozen=True, slots=True)
class Comparison:
    baseline: str
    arm: str
    stall_rate: TestResult | None
    ttft: TestResult | None
    stall_time: TestResult | None


EXPERIMENT, FORCED, DEFAULT, NOT_SMOOTHED = "experiment", "forced", "default", "not smoothed"
SECTIONS = (EXPERIMENT, FORCED, DEFAULT, NOT_SMOOTHED)


def mode_of(record: StreamRecord) -> str:
    message = record.message if record.message_id else None
    return message.mode if message is not None else "chat"


def section_of(record: StreamRecord) -> str:
    """Which comparison a stream belongs to. Only randomised arms are an experiment: a strategy the
    user picked by hand is self-selected, and JSON output is not smoothed at all, whatever was recorded."""
    if mode_of(record) == "json":
        return NOT_SMOOTHED
    if record.arm.startswith("forced:"):
        return FORCED
    return EXPERIMENT if record.arm else DEFAULT


def arm_of(record: StreamRecord) -> str:
    """The arm a stream is counted in, within its section."""
    if section_of(record) == NOT_SMOOTHED:
        return "json output"
    return (record.arm or record.strategy).removeprefix("forced:")


def sections(records: Iterable[StreamRecord]) -> dict[str, list[ArmSummary]]:
    """Per-arm summaries, kept apart by section (the randomised experiment first)."""
    grouped: dict[str, list[StreamRecord]] = {name: [] for name in SECTIONS}
    for record in records:
        grouped[section_of(record)].append(record)
    return {name: summarize(group) for name, group in grouped.items()}


def summarize(records: Iterable[StreamRecord]) -> list[ArmSummary]:
    """Per-arm summaries of the given streams (call it on one section at a time)."""
    summaries: dict[str, ArmSummary] = {}
    for record in records:
        summary = summaries.setdefault(arm_of(record), ArmSummary(arm_of(record)))
        summary.streams += 1
        gaps = [float(g) for g in record.reveal_gaps_ms or []]
        summary.reveal_gaps_ms.extend(gaps)
        summary.client_gaps_ms.extend(client_gaps(record))
        if record.first_visible_token_ms is not None:
            summary.ttft_ms.append(record.first_visible_token_ms)
        if record.completion_delay_ms is not None:
            summary.completion_delays_ms.append(record.completion_delay_ms)
        stalled = stall_ms(gaps)
        summary.stall_ms_per_stream.append(stalled)
        summary.stalled_streams += stalled > 0
        summary.stopped_streams += record.end_reason == StreamRecord.EndReason.STOPPED
    return sorted(summaries.values(), key=lambda s: s.arm)


def compare(summaries: Sequence[ArmSummary], baseline: str = "passthrough") -> list[Comparison]:
    if not summaries:
        return []
    base = next((s for s in summaries if s.arm == baseline), summaries[0])
    return [
        Comparison(
            baseline=base.arm,
            arm=other.arm,
            stall_rate=two_proportion_z(base.stalled_streams, base.streams, other.stalled_streams, other.streams),
            ttft=mann_whitney_u(base.ttft_ms, other.ttft_ms),
            stall_time=mann_whitney_u(base.stall_ms_per_stream, other.stall_ms_per_stream),
        )
        for other in summaries
        if other is not base
    ]


__all__ = ["DEFAULT", "EXPERIMENT", "FORCED", "NOT_SMOOTHED", "SECTIONS", "STALL_MS", "ArmSummary", "Comparison",
           "arm_of", "client_gaps", "compare", "mode_of", "section_of", "sections", "stall_ms", "summarize"]
