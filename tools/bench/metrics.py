"""What a user sees of a reveal schedule, as numbers.

Definitions (seconds on the trace's clock):
- a reveal is *visible* when its text has a non-whitespace character; gaps are
  measured between consecutive visible reveals, from the first one on (the wait
  before it is the time to first token, measured separately);
- added TTFT: first visible reveal minus first arrival of visible text;
- completion delay: last reveal minus last arrival;
- stall time: the sum over gaps of the part above `STALL_THRESHOLD`; stall count:
  gaps above it;
- mean lag: how long a character waited between arrival and reveal, on average
  (the price of a cushion);
- burst: the most characters revealed within any window of `BURST_WINDOW`
  (half-open, so reveals exactly one window apart are not counted together).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from streamui.pipeline.smoothing import Arrival

STALL_THRESHOLD = 0.25
BURST_WINDOW = 0.1
# Same tolerance as the strategies' burst cap: times are float sums.
_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class ScheduleMetrics:
    added_ttft: float
    completion_delay: float
    largest_gap: float
    p99_gap: float
    stall_time: float
    stall_count: int
    max_burst_chars: int
    reveals: int
    max_reveals_per_second: int
    mean_lag: float
    gaps: tuple[float, ...]


def _visible(text: str) -> bool:
    return not text.isspace() and text != ""


def visible_times(schedule: Sequence[Arrival]) -> list[float]:
    return [r.t for r in schedule if _visible(r.text)]


def reveal_gaps(schedule: Sequence[Arrival]) -> list[float]:
    times = visible_times(schedule)
    return [b - a for a, b in pairwise(times)]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values): an observed gap, never an interpolation."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def max_in_window(times: Sequence[float], weights: Sequence[int], window: float) -> int:
    """The largest total weight of items whose times lie within any half-open `window`."""
    best = total = start = 0
    for end, t in enumerate(times):
        total += weights[end]
        while times[start] <= t - window + _EPS:
            total -= weights[start]
            start += 1
        best = max(best, total)
    return best


def mean_lag(arrivals: Sequence[Arrival], schedule: Sequence[Arrival]) -> float:
    """Average over characters of reveal time minus arrival time."""
    total = 0.0
    chars = 0
    i = 0
    left = len(arrivals[0].text) if arrivals else 0
    for r in schedule:
        n = len(r.text)
        while n > 0 and i < len(arrivals):
            take = min(n, left)
            total += take * (r.t - arrivals[i].t)
            chars += take
            n -= take
            left -= take
            if left == 0:
                i += 1
                left = len(arrivals[i].text) if i < len(arrivals) else 0
    return total / chars if chars else 0.0


def measure(arrivals: Sequence[Arrival], schedule: Sequence[Arrival]) -> ScheduleMetrics:
    gaps = reveal_gaps(schedule)
    first_in = next((a.t for a in arrivals if _visible(a.text)), None)
    first_out = next((r.t for r in schedule if _visible(r.text)), None)
    added_ttft = first_out - first_in if first_in is not None and first_out is not None else 0.0
    completion = schedule[-1].t - arrivals[-1].t if schedule and arrivals else 0.0
    times = [r.t for r in schedule]
    return ScheduleMetrics(
        added_ttft=added_ttft,
        completion_delay=completion,
        largest_gap=max(gaps, default=0.0),
        p99_gap=percentile(gaps, 99),
        stall_time=sum(g - STALL_THRESHOLD for g in gaps if g > STALL_THRESHOLD),
        stall_count=sum(1 for g in gaps if g > STALL_THRESHOLD),
        max_burst_chars=max_in_window(times, [len(r.text) for r in schedule], BURST_WINDOW),
        reveals=len(schedule),
        max_reveals_per_second=max_in_window(times, [1] * len(times), 1.0),
        mean_lag=mean_lag(arrivals, schedule),
        gaps=tuple(gaps),
    )


def contract_violations(arrivals: Sequence[Arrival], schedule: Sequence[Arrival]) -> list[str]:
    """Broken promises: text dropped, reordered or invented, or revealed before it arrived."""
    problems: list[str] = []
    sent = "".join(a.text for a in arrivals)
    shown = "".join(r.text for r in schedule)
    if shown != sent:
        problems.append(f"revealed text differs from arrived text ({len(shown)} vs {len(sent)} chars)")
    arrived = 0
    i = 0
    revealed = 0
    last_t = -math.inf
    for r in schedule:
        if r.t < last_t:
            problems.append(f"reveal at {r.t:.6f} goes back in time")
        last_t = r.t
        while i < len(arrivals) and arrivals[i].t <= r.t:
            arrived += len(arrivals[i].text)
            i += 1
        revealed += len(r.text)
        if revealed > arrived:
            problems.append(f"at {r.t:.6f}: {revealed} chars revealed but only {arrived} arrived")
            break
    return problems


__all__ = [
    "BURST_WINDOW",
    "STALL_THRESHOLD",
    "ScheduleMetrics",
    "contract_violations",
    "max_in_window",
    "measure",
    "percentile",
    "reveal_gaps",
    "visible_times",
]
