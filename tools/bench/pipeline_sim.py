"""The live chat pipeline on a virtual clock: upstream events, commit stage, smoothing.

`simulate_pipeline` drives a `CommitStage` and a `SmoothingStrategy` together, as
`streamui.generation.Generation` and `streamui.lanes.Lane` do with asyncio timers:

- each upstream event is pushed into the commit stage at its time and the stage is
  polled right after it (tool calls and usage are not fed to it, as live); text and
  draft deltas are first reported to the strategy with `observe_upstream(len(text), t)`
  (live: `Generation._handle`), which polls nothing;
- the stage is polled again at its `wake_at` (live: a timer handle), a due timer
  before an event that arrives at the very same instant;
- `End` / `UpstreamError` (or, without one, `end_t`: by default the last event's
  time) finishes the stage, which is polled once more, then finishes the strategy;
  events after the end are ignored, as the live loop stops reading there;
- every `Committed` piece is pushed into the strategy at the time it was committed,
  and the strategy is polled whenever text was pushed, at its own wake times and
  after it was finished (live: the `Pacer`), just as `smoothing.simulate` does;
- marks (`Struck`, `Revision`) are placed when the reveals reach their `at` offset
  (a reveal is split there), or at once if they already have; marks still waiting
  at the end are placed after the last reveal (live: `Lane.close`).

Since nothing flows back from the strategy to the stage, the reveal schedule is the
one `smoothing.simulate` gives for the stage's commits with the strategy told of the
upstream arrivals (`PipelineRun.upstream`) as it goes (`ReplayUpstream`); a test
checks that.

The result lists what the user was shown, in order (`PipelineRun.visible`), from
which `visible_states` rebuilds the answer text on screen after every step.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from streamui.pipeline.commit import CommitStage, Reasoning
from streamui.pipeline.corrections import Committed, Revision, Struck
from streamui.pipeline.smoothing import Arrival, Reveal, SmoothingStrategy, SpinGuard
from streamui.upstream.events import (
    Confirm,
    DraftDelta,
    End,
    ReasoningDelta,
    Rollback,
    TextDelta,
    ToolCallDelta,
    UpstreamError,
    Usage,
)
from streamui.upstream.traces import TimedEvent

Mark = Struck | Revision


@dataclass(frozen=True, slots=True)
class PlacedMark:
    t: float
    mark: Mark


Shown = Arrival | PlacedMark


@dataclass(slots=True)
class PipelineRun:
    stage: CommitStage
    end_t: float
    """When the upstream ended: the stage and the strategy were finished then."""
    commits: list[Arrival] = field(default_factory=list)
    """Committed answer text as it reached the strategy (one per `Committed` piece)."""
    schedule: list[Arrival] = field(default_factory=list)
    """The strategy's reveals, unsplit (what `smoothing.simulate` returns)."""
    visible: list[Shown] = field(default_factory=list)
    """What the lane showed, in order: reveal pieces (split at marks) and placed marks."""
    reasoning: list[Arrival] = field(default_factory=list)
    upstream: list[Arrival] = field(default_factory=list)
    """Text and draft deltas as they left the upstream: what `observe_upstream` was told."""

    @property
    def shown_text(self) -> str:
        """The answer text revealed (marks excluded)."""
        return "".join(item.text for item in self.visible if isinstance(item, Arrival))


def visible_text_of(item: Shown) -> str:
    """The answer characters an item puts on screen: a reveal's text, a struck phrase
    (shown struck through); a revision mark is a button whose original stays hidden."""
    if isinstance(item, Arrival):
        return item.text
    return item.mark.text if isinstance(item.mark, Struck) else ""


def visible_states(run: PipelineRun) -> Iterator[str]:
    """The answer text on screen after every reveal and every mark."""
    text = ""
    for item in run.visible:
        text += visible_text_of(item)
        yield text


def retracted_chars(states: Iterable[str]) -> int:
    """Characters of an earlier visible text that the next one does not keep as its
    prefix (removed or changed), summed over consecutive states."""
    total = 0
    prev = ""
    for cur in states:
        if not cur.startswith(prev):
            total += len(prev) - len(os.path.commonprefix([prev, cur]))
        prev = cur
    return total


def naive_states(events: Sequence[TimedEvent]) -> Iterator[str]:
    """What a renderer without a commit stage shows after every upstream event: text as
    it arrives, draft text at once (after the final text), rolled-back draft removed."""
    final = ""
    draft = ""
    for timed in events:
        ev = timed.event
        if isinstance(ev, TextDelta):
            final += ev.text
        elif isinstance(ev, DraftDelta):
            draft += ev.text
        elif isinstance(ev, Rollback):
            draft = draft[: max(0, len(draft) - ev.chars)]
        elif isinstance(ev, Confirm):
            final, draft = final + draft, ""
        elif isinstance(ev, (End, UpstreamError)):
            yield final  # unconfirmed draft is gone once the stream ends
            return
        else:
            continue
        yield final + draft
    if draft:
        yield final


class ReplayUpstream(SmoothingStrategy):
    """`inner`, told of timed upstream arrivals (`observe_upstream`) up to each time it is
    pushed, polled or finished at: the strategy as `simulate_pipeline` drives it, for
    `smoothing.simulate` to drive over the commits alone."""

    name = "replay-upstream"

    def __init__(self, inner: SmoothingStrategy, upstream: Sequence[Arrival]) -> None:
        self.inner = inner
        self.upstream = upstream
        self._told = 0

    def _tell(self, now: float) -> None:
        while self._told < len(self.upstream) and self.upstream[self._told].t <= now:
            arrival = self.upstream[self._told]
            self.inner.observe_upstream(len(arrival.text), arrival.t)
            self._told += 1

    def push(self, text: str, now: float) -> None:
        self._tell(now)
        self.inner.push(text, now)

    def finish(self, now: float) -> None:
        self._tell(now)
        self.inner.finish(now)

    def poll(self, now: float) -> Reveal:
        self._tell(now)
        return self.inner.poll(now)

    def __repr__(self) -> str:
        return f"ReplayUpstream({self.inner!r})"


def upstream_until_end(events: Sequence[TimedEvent]) -> tuple[list[TimedEvent], float | None]:
    """The events up to and including the first `End` / `UpstreamError`, and its time."""
    out: list[TimedEvent] = []
    for timed in events:
        out.append(timed)
        if isinstance(timed.event, (End, UpstreamError)):
            return out, timed.t
    return out, None


class _Lane:
    """`streamui.lanes.Lane` without the markdown: reveals split at mark offsets."""

    def __init__(self, run: PipelineRun) -> None:
        self.run = run
        self.revealed = 0
        self.marks: list[Mark] = []

    def add_mark(self, mark: Mark, now: float) -> None:
        self.marks.append(mark)
        self._place(now)

    def reveal(self, text: str, now: float) -> None:
        self.run.schedule.append(Arrival(now, text))
        while text:
            next_at = self.marks[0].at if self.marks else None
            take = len(text) if next_at is None else max(0, min(len(text), next_at - self.revealed))
            piece, text = text[:take], text[take:]
            if piece:
                self.run.visible.append(Arrival(now, piece))
                self.revealed += len(piece)
            self._place(now)

    def close(self, now: float) -> None:
        self._place(now, final=True)

    def _place(self, now: float, final: bool = False) -> None:
        while self.marks and (final or self.marks[0].at <= self.revealed):
            self.run.visible.append(PlacedMark(now, self.marks.pop(0)))


def simulate_pipeline(
    stage: CommitStage,
    strategy: SmoothingStrategy,
    events: Sequence[TimedEvent],
    *,
    end_t: float | None = None,
    max_steps: int = 10_000_000,
) -> PipelineRun:
    """Run upstream events through `stage` and then `strategy` on one virtual clock."""
    timed, ended_at = upstream_until_end(events)
    if ended_at is None:
        ended_at = end_t if end_t is not None else (timed[-1].t if timed else 0.0)
    run = PipelineRun(stage, ended_at)
    lane = _Lane(run)
    n = len(timed)
    i = 0
    now = 0.0
    commit_wake: float | None = None
    strategy_wake: float | None = None
    upstream_done = False
    strategy_done = False
    guard = SpinGuard(strategy)

    def drain() -> bool:
        """`Generation._drain_commit`: poll the stage, pass its pieces on; True if text went to the strategy."""
        nonlocal commit_wake
        output = stage.poll(now)
        pushed = False
        for piece in output.pieces:
            if isinstance(piece, Committed):
                if piece.text:
                    run.commits.append(Arrival(now, piece.text))
                    strategy.push(piece.text, now)
                    pushed = True
            elif isinstance(piece, Reasoning):
                run.reasoning.append(Arrival(now, piece.text))
            else:
                lane.add_mark(piece, now)
        commit_wake = output.wake_at
        return pushed

    for _ in range(max_steps):
        candidates = [
            t
            for t in (
                timed[i].t if i < n else None,
                ended_at if i >= n and not upstream_done else None,
                commit_wake,
                strategy_wake,
            )
            if t is not None
        ]
        if not candidates:
            raise RuntimeError(f"{strategy!r} is idle but not done after the upstream ended")
        now = max(now, min(candidates))
        poll_strategy = strategy_wake is not None and strategy_wake <= now
        if commit_wake is not None and commit_wake <= now:
            poll_strategy |= drain()
        while i < n and timed[i].t <= now:
            event = timed[i].event
            i += 1
            if isinstance(event, (End, UpstreamError)):
                break  # finishes below, at its time
            if isinstance(event, (ToolCallDelta, Usage)):
                continue
            assert isinstance(event, (TextDelta, ReasoningDelta, DraftDelta, Rollback, Confirm))
            if isinstance(event, (TextDelta, DraftDelta)):
                # `Generation._handle`: the model's pace, drafts included, before the stage.
                run.upstream.append(Arrival(now, event.text))
                strategy.observe_upstream(len(event.text), now)
            stage.push(event, now)
            poll_strategy |= drain()
        if i >= n and not upstream_done and ended_at <= now:
            stage.finish(now)
            drain()
            commit_wake = None
            strategy.finish(now)
            upstream_done = poll_strategy = True
        if not poll_strategy:
            continue
        reveal = strategy.poll(now)
        if reveal.text:
            lane.reveal(reveal.text, now)
        if reveal.done:
            strategy_done = True
            break
        strategy_wake = guard.next_wake(reveal, now)
    if not strategy_done:
        raise RuntimeError(f"{stage!r} and {strategy!r} did not finish within {max_steps} steps")
    lane.close(now)
    return run


__all__ = [
    "PipelineRun",
    "PlacedMark",
    "ReplayUpstream",
    "naive_states",
    "retracted_chars",
    "simulate_pipeline",
    "upstream_until_end",
    "visible_states",
    "visible_text_of",
]
