"""The virtual-clock driver of the chat pipeline: timed upstream events in, what was shown out.

`drive` runs a `ChatPipeline` as `streamui.generation` does live, with time jumping
from one moment something happens to the next: each event is pushed at its time,
the pipeline is polled whenever its `wake_at` has come (at once after a push that
made something due), and the upstream ends at its `End` / `UpstreamError`, or at
`end_t` (default: the last event's time) if there is none; events after the end are
not read, as live. Deterministic and thousands of times faster than real time.

It is the only virtual-clock driver of the stages: `run_pipeline` (commit stage and one
strategy), `commit_pieces` (what the commit stage emitted, in that same pipeline) and
`simulate` (one strategy over committed text, no commit stage) are the benchmarks' and
tests' uses of it, and read what the pipeline recorded (`record=True`), never a parallel
implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..upstream.events import End, TextDelta, UpstreamError
from ..upstream.traces import TimedEvent
from .chat import ChatPipeline
from .commit import CommitStage, TimedPiece
from .lane import PlacedMark, Shown
from .smoothing import Arrival, Passthrough, SmoothingStrategy


@dataclass(frozen=True, slots=True)
class TimedFrame:
    t: float
    html: str


def drive(
    pipeline: ChatPipeline,
    events: Sequence[TimedEvent],
    *,
    end_t: float | None = None,
    max_steps: int = 10_000_000,
    frames: list[TimedFrame] | None = None,
) -> float:
    """Run `pipeline` over `events` on a virtual clock until it is done; return the time it ended.

    With `frames`, every non-empty frame is appended to it."""
    if end_t is None:
        end_t = events[-1].t if events else 0.0
    i, n = 0, len(events)
    now = 0.0
    for _ in range(max_steps):
        ended = pipeline.ended_at is not None
        wake = pipeline.wake_at
        candidates = [t for t in (events[i].t if i < n and not ended else None,
                                  end_t if i >= n and not ended else None, wake) if t is not None]
        if not candidates:
            names = ", ".join(repr(s) for s in pipeline.strategies)
            raise RuntimeError(f"{names} is idle but not done after the upstream ended")
        now = max(now, min(candidates))
        while i < n and events[i].t <= now and pipeline.ended_at is None:
            pipeline.push(events[i].event, now)
            i += 1
        if i >= n and pipeline.ended_at is None and end_t <= now:
            pipeline.end(now)
        wake = pipeline.wake_at
        if wake is None or wake > now:
            continue
        step = pipeline.poll(now)
        if frames is not None and step.html:
            frames.append(TimedFrame(now, step.html))
        if step.done:
            return now
    raise RuntimeError(f"the pipeline did not finish within {max_steps} steps")


@dataclass(slots=True)
class PipelineRun:
    stage: CommitStage
    end_t: float
    """When the upstream ended: the stage and the strategy were finished then."""
    pieces: list[TimedPiece] = field(default_factory=list)
    """Everything the commit stage emitted (committed text, reasoning, marks), when it did."""
    commits: list[Arrival] = field(default_factory=list)
    """Committed answer text as it reached the strategy (one per `Committed` piece)."""
    schedule: list[Arrival] = field(default_factory=list)
    """The strategy's reveals, unsplit (what `simulate` returns)."""
    visible: list[Shown] = field(default_factory=list)
    """What the lane showed, in order: reveal pieces (split at marks) and placed marks."""
    reasoning: list[Arrival] = field(default_factory=list)
    upstream: list[Arrival] = field(default_factory=list)
    """Text and draft deltas as they left the upstream: what `observe_upstream` was told."""
    frames: list[TimedFrame] = field(default_factory=list)
    """The frames a client received (with `render`)."""

    @property
    def shown_text(self) -> str:
        """The answer text revealed (marks excluded)."""
        return "".join(item.text for item in self.visible if isinstance(item, Arrival))


def _until_end(events: Sequence[TimedEvent]) -> float | None:
    for timed in events:
        if isinstance(timed.event, (End, UpstreamError)):
            return timed.t
    return None


def run_pipeline(
    stage: CommitStage,
    strategy: SmoothingStrategy,
    events: Sequence[TimedEvent],
    *,
    end_t: float | None = None,
    render: bool = False,
    max_steps: int = 10_000_000,
) -> PipelineRun:
    """Upstream events through `stage` and then `strategy`, one lane, on one virtual clock."""
    pipeline = ChatPipeline(message_id=0, strategies=[strategy], start=0.0, commit=stage,
                            render=render, record=True)
    frames: list[TimedFrame] = []
    drive(pipeline, events, end_t=end_t, max_steps=max_steps, frames=frames if render else None)
    ended = _until_end(events)
    lane = pipeline.lanes[0]
    assert pipeline.pieces is not None and pipeline.commits is not None
    assert pipeline.shown_reasoning is not None and pipeline.upstream is not None
    assert lane.schedule is not None and lane.visible is not None
    return PipelineRun(
        stage, pipeline.ended_at if pipeline.ended_at is not None else (ended or 0.0),
        pieces=pipeline.pieces, commits=pipeline.commits, schedule=lane.schedule, visible=lane.visible,
        reasoning=pipeline.shown_reasoning, upstream=pipeline.upstream, frames=frames,
    )


def commit_pieces(
    stage: CommitStage,
    events: Sequence[TimedEvent],
    *,
    end_t: float | None = None,
    max_steps: int = 10_000_000,
) -> list[TimedPiece]:
    """What `stage` emitted, and when, as the chat pipeline drives it (a passthrough lane
    behind it, so nothing but the stage decides the times)."""
    return run_pipeline(stage, Passthrough(), events, end_t=end_t, max_steps=max_steps).pieces


def simulate(
    strategy: SmoothingStrategy, arrivals: Sequence[Arrival], end_t: float, *, max_steps: int = 10_000_000
) -> list[Arrival]:
    """`strategy` alone (no commit stage) over timed committed text; the reveal schedule."""
    pipeline = ChatPipeline(message_id=0, strategies=[strategy], start=0.0, render=False, record=True)
    drive(pipeline, [TimedEvent(a.t, TextDelta(a.text)) for a in arrivals], end_t=end_t, max_steps=max_steps)
    schedule = pipeline.lanes[0].schedule
    assert schedule is not None
    return schedule


__all__ = ["PipelineRun", "PlacedMark", "TimedFrame", "commit_pieces", "drive", "run_pipeline", "simulate"]
