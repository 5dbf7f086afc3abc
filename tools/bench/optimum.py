"""The offline optimum: the smallest largest gap any schedule could achieve.

Knowing the whole trace in advance, what is the smallest possible largest gap
between reveals, for a schedule that plays by the same rules as the strategies:

- causal: text is revealed no earlier than it arrived;
- whole words (`\\s*\\S+`, long runs cut at `max_word` characters), except that the
  first reveal shows whatever of the first word has arrived;
- the first reveal at `first_t` (the strategy's added time to first token) and the
  last one by `end_t` (its completion delay);
- reveals at least one frame apart, each after the first holding at most
  `frame_chars` characters (the 250-per-100-ms burst cap spread evenly over the
  frames of its window) unless it is a single longer word.

Method: binary search on the gap G with a feasibility test that builds a schedule.
1. Deadlines, backwards from `end_t`: words packed into frames as late as the
   rules allow. No schedule can reveal word j after its deadline d_j and still
   finish by `end_t`.
2. Forwards from `first_t`: each reveal as late as allowed, min(previous + G,
   next deadline), holding the next word plus any whose deadline would pass
   before the following frame (never more than one deadline frame's worth); if
   one of those has not arrived yet, a frame before its deadline instead.
By induction, any schedule with largest gap G reveals word j no later than this
one does (the next reveal is within G of the previous and never after a deadline),
so if a word has not arrived by the time this schedule needs it, no schedule with
gap G exists; when none is missing, this schedule is one. The smallest G that
passes is the optimum, to within `resolution`. (One case escapes the argument:
when no time fits both the gap and a word due within a frame, another alignment
of the earlier reveals might; a bound decided by that case is not `proven`.)

The adaptive strategy obeys these rules except that it may show the arrived part
of a word after a silence, which the optimum may not; so on rare traces it can
come out slightly below this figure.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from streamui.pipeline.smoothing import Arrival

from .metrics import BURST_WINDOW

FRAME = 1 / 60
# 250 characters per 100 ms, spread over the six frames of a window.
FRAME_CHARS = int(250 * FRAME / BURST_WINDOW)
_EPS = 1e-6
_WORD = re.compile(r"\s*\S+")


@dataclass(frozen=True, slots=True)
class Unit:
    available: float
    chars: int


def units_of(arrivals: Sequence[Arrival], first_t: float, *, max_word: int = 32) -> list[Unit]:
    """Words with the time their last character arrived; the first cut where `first_t` falls."""
    text = "".join(a.text for a in arrivals)
    ends = list(accumulate(len(a.text) for a in arrivals))
    times = [a.t for a in arrivals]
    arrived_by_first = (
        ends[bisect.bisect_right(times, first_t + _EPS) - 1] if times[0] <= first_t + _EPS else 0
    )
    cuts: list[int] = []
    for match in _WORD.finditer(text):
        start, end = match.span()
        word_start = start + len(match.group()) - len(match.group().lstrip())
        pos = start
        while word_start - pos > max_word:
            pos += max_word
            cuts.append(pos)
        pos = word_start
        while end - pos > max_word:
            pos += max_word
            cuts.append(pos)
        cuts.append(end)
    if not cuts or cuts[-1] != len(text):
        cuts.append(len(text))
    if arrived_by_first and cuts[0] > arrived_by_first:
        cuts.insert(0, arrived_by_first)
    units: list[Unit] = []
    prev = 0
    for cut in cuts:
        if cut <= prev:
            continue
        index = bisect.bisect_left(ends, cut)
        units.append(Unit(times[index], cut - prev))
        prev = cut
    return units


def deadlines(units: Sequence[Unit], end_t: float, *, frame: float, frame_chars: int) -> list[float]:
    """The latest time each unit can be revealed so that all can be by `end_t`."""
    out = [0.0] * len(units)
    t = end_t
    load = 0
    for j in range(len(units) - 1, -1, -1):
        chars = units[j].chars
        if load and load + chars > frame_chars:
            t -= frame
            load = 0
        load += chars
        out[j] = t
    return out


def feasible(units: Sequence[Unit], due: Sequence[float], first_t: float, gap: float, *, frame: float) -> str:
    """Build the latest-possible schedule with this largest gap: "ok", or why not.

    "late": the next word had not arrived by the latest time allowed, which no
    schedule can help. "deadline": no time fits both the gap and the words due
    before the following frame; not proven impossible for other alignments.
    """
    n = len(units)
    j = 0
    t = first_t
    prev = first_t - frame
    while j < n:
        t = first_t if j == 0 else min(t + gap, due[j])
        while True:
            if units[j].available > t + _EPS:
                return "late"
            # Words due before the next frame go now; if one has not arrived,
            # reveal earlier, a frame before it is due, so it can go next.
            k = j + 1
            while k < n and due[k] < t + frame - _EPS and units[k].available <= t + _EPS:
                k += 1
            if k < n and due[k] < t + frame - _EPS:
                t = due[k] - frame
                if t < prev + frame - _EPS:
                    return "deadline"
                continue
            break
        prev = t
        j = k
    return "ok"


@dataclass(frozen=True, slots=True)
class Optimum:
    largest_gap: float
    proven: bool
    """No schedule does better (to `resolution`): the search's lower edge failed for lack of text."""


def offline_optimum(
    arrivals: Sequence[Arrival],
    first_t: float,
    end_t: float,
    *,
    frame: float = FRAME,
    frame_chars: int = FRAME_CHARS,
    resolution: float = 0.001,
) -> Optimum | None:
    """The smallest largest gap, or None when no schedule can finish by `end_t` at all."""
    units = units_of(arrivals, first_t) if arrivals else []
    if len(units) < 2:
        return Optimum(0.0, True)
    due = deadlines(units, end_t, frame=frame, frame_chars=frame_chars)

    def test(gap: float) -> str:
        return feasible(units, due, first_t, gap, frame=frame)

    lo, hi = frame, max(end_t - first_t, frame)
    if due[0] < first_t - _EPS or test(hi) != "ok":
        return None
    lo_why = test(lo)
    if lo_why == "ok":
        return Optimum(lo, True)
    while hi - lo > resolution:
        mid = (lo + hi) / 2
        why = test(mid)
        if why == "ok":
            hi = mid
        else:
            lo, lo_why = mid, why
    return Optimum(hi, lo_why == "late")


__all__ = ["FRAME", "FRAME_CHARS", "Optimum", "Unit", "deadlines", "feasible", "offline_optimum", "units_of"]
