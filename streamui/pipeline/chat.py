"""The chat pipeline as one plain object: upstream events and the time in, fragments out.

    upstream ──▶ commit stage ──▶ lane(s): strategy ▶ markdown ──▶ fragments
                    │ reasoning ─────────────────────────────────▶ fragments
    (json mode) text ──▶ partial-JSON widgets ───────────────────▶ fragments
    tool calls ──▶ tool-call cards ─────────────────────────────▶ fragments

No asyncio, no clock of its own: a driver calls `push(event, now)` for every upstream
event, `end(now)` if the upstream stops without an `End`, and `poll(now)` whenever
`wake_at` has come (at once after a push that made something due). Each poll returns
one `Step`: the fragments of one frame, the live figures when they changed, when to
poll next, and whether the stream is over. The live driver (`streamui.generation`)
and the virtual-clock driver of the benchmarks (`streamui.pipeline.virtual`) drive this
very object, so the benchmark figures are production's by construction.

Within one instant the order is: a commit timer that was already overdue fires first;
then each event arriving is pushed into the commit stage and the stage polled at once (a
timer due at that very instant is decided with the event's text in: `CommitStage.poll`
forces what has waited its limit either way); then (on `poll`) the end is handled and
every due strategy is polled once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import fragments
from ..upstream.events import (
    DraftDelta,
    End,
    Event,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    UpstreamError,
    Usage,
)
from ..widgets.registry import WidgetRegistry
from ..widgets.render import JSONWidgetRenderer
from ..widgets.tools import ToolCallsRenderer
from .chat_end import StreamEnd
from .chat_figures import LiveFigures
from .chat_reasoning import ReasoningPanel
from .commit import CommitStage, Reasoning, TimedPiece
from .corrections import Committed, Revision, Struck
from .lane import Lane
from .metrics import StreamMetrics
from .smoothing import Arrival, SmoothingStrategy


class StepClock:
    """The time of the current push or poll: what the pipeline's metrics read."""

    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t


@dataclass(frozen=True, slots=True)
class Step:
    html: str
    """The fragments of one frame, in order; may be empty."""
    figures: dict[str, str] | None
    """The live figures, when they are due (rate-limited); latest wins."""
    wake_at: float | None
    """Poll again at this time even if nothing arrives."""
    done: bool
    """Everything was shown; nothing more will come."""


class ChatPipeline(LiveFigures, ReasoningPanel, StreamEnd):
    """Its parts: `LiveFigures` computes and rate-limits the figures, `ReasoningPanel` writes the
    reasoning panel, `StreamEnd` finishes, stops and compacts; this class owns their state, takes
    the events in, drives the commit stage and the lanes, and makes the frames."""

    def __init__(
        self,
        *,
        message_id: int,
        strategies: Sequence[SmoothingStrategy],
        start: float,
        mode: str = "chat",
        commit: CommitStage | None = None,
        schema: Mapping[str, Any] | None = None,
        widgets: WidgetRegistry | None = None,
        show_figures: bool = False,
        figures_interval: float = 1.0,
        render: bool = True,
        record: bool = False,
    ) -> None:
        self.message_id = message_id
        self.strategies = list(strategies)
        self.mode = mode
        self.commit = commit if mode == "chat" else None
        self.show_figures = show_figures
        self.figures_interval = figures_interval
        self.clock = StepClock(start)
        self.metrics = StreamMetrics(self.clock)
        self.lanes: list[Lane] = []
        self.json: JSONWidgetRenderer | None = None
        self.tools: ToolCallsRenderer | None = None
        if mode == "json":
            self.json = JSONWidgetRenderer(fragments.json_root_id(message_id), widgets, schema=schema)
        else:
            for i, strategy in enumerate(self.strategies):
                metrics = self.metrics if i == 0 else StreamMetrics(self.clock)
                self.lanes.append(Lane(strategy, fragments.lane_output_id(message_id, i), metrics,
                                       render=render, record=record))
        self.received: list[str] = []
        self.reasoning: list[str] = []
        self.json_text: list[str] = []
        self.usage_tokens: int | None = None
        self.error: UpstreamError | None = None
        self.finish_reason: str | None = None
        self.refusal: list[str] = []  # the provider's refusal text: never part of the answer
        self.ended_at: float | None = None
        self.done = False
        # With `record`: (what the virtual driver reports) every piece the commit stage emitted,
        # committed text and reasoning as the stage passed them on, and text and draft deltas
        # as they left the upstream.
        self.pieces: list[TimedPiece] | None = [] if record else None
        self.commits: list[Arrival] | None = [] if record else None
        self.shown_reasoning: list[Arrival] | None = [] if record else None
        self.upstream: list[Arrival] | None = [] if record else None
        self._out: list[str] = []
        self._arrived_events = 0
        self._arrived_chars = 0
        self._commit_wake: float | None = None
        self._finished = False
        self._thinking_done = False
        self._last_figures = float("-inf")
        self._last_values: dict[str, str] | None = None
        self._figures_due = False
        self._figures_forced = show_figures  # this answer's figures from the start, not the previous answer's

    # --- input -----------------------------------------------------------------------

    def push(self, event: Event, now: float) -> bool:
        """Feed one upstream event; True when the upstream is over (read no further)."""
        if self.ended_at is not None:
            return True
        self.clock.t = now
        # A commit timer already overdue fires first (as if on time); one due at this very
        # instant fires after the event: text arriving at a deadline is judged with it.
        self._fire_commit_timer(now, overdue_only=True)
        if isinstance(event, (TextDelta, DraftDelta)) and self.commit is not None:
            # The model's pace, as it produced text (drafts included), for the strategies behind the commit stage.
            if self.upstream is not None:
                self.upstream.append(Arrival(now, event.text))
            for lane in self.lanes:
                lane.strategy.observe_upstream(len(event.text), now)
        if isinstance(event, (TextDelta, DraftDelta)):
            self._arrived_events += 1
            self._arrived_chars += len(event.text)
        if isinstance(event, TextDelta):
            self.metrics.on_arrival(event.text)
            self.received.append(event.text)
        elif isinstance(event, ReasoningDelta):
            self.metrics.on_reasoning()
            self.reasoning.append(event.text)
        elif isinstance(event, ToolCallDelta):
            if self.tools is None:
                self.tools = ToolCallsRenderer(fragments.tools_id(self.message_id))
            self._out.extend(self.tools.feed(event.index, event.call_id, event.name, event.arguments))
            if self.metrics.first_visible is None:  # the tool card is the first thing the user sees
                self.metrics.first_visible = now
                self._figures_forced = True
            return False
        elif isinstance(event, RefusalDelta):
            self.refusal.append(event.text)
            return False
        elif isinstance(event, Usage):
            if event.completion_tokens is not None:
                self.usage_tokens = event.completion_tokens
            return False
        elif isinstance(event, UpstreamError):
            self.error = event
            self.end(now)
            return True
        elif isinstance(event, End):
            self.finish_reason = event.reason
            self.end(now)
            return True
        if self.json is not None:
            if isinstance(event, TextDelta):
                self.json_text.append(event.text)
                self._out.extend(self.json.feed(event.text))
                self.metrics.on_reveal(event.text)
                self._figures_due = True
        elif self.commit is not None:
            self.commit.push(event, now)
            self._drain_commit(now)
        elif isinstance(event, TextDelta):
            self._committed(event.text, now)
        if isinstance(event, ReasoningDelta) and self.commit is None:
            self._show_reasoning(event.text, now)
        return False

    def set_frame(self, seconds: float) -> None:
        """Every lane reveals at most once per `seconds` from now on (its strategy's own frame at the
        least): the live path's frame governor lengthens it while the process is busy."""
        for lane in self.lanes:
            lane.strategy.set_frame(seconds)

    def end(self, now: float) -> None:
        """The upstream is over (also called by `push` for `End` and `UpstreamError`)."""
        if self.ended_at is None:
            self.ended_at = now

    # --- output ----------------------------------------------------------------------

    @property
    def wake_at(self) -> float | None:
        """When the pipeline next needs a poll (None: only after the next event)."""
        if self.done:
            return None
        now = self.clock.t
        if self._out or self._figures_due or self._figures_forced:
            return now
        if self.ended_at is not None and not self._finished:
            return now
        best = self._commit_wake
        for lane in self.lanes:  # a plain loop: this runs several times per upstream token
            if lane.done:
                continue
            if lane._due:
                return now if best is None or best >= now else best
            wake = lane.wake_at
            if wake is not None and (best is None or wake < best):
                best = wake
        return best

    def poll(self, now: float) -> Step:
        if self.done:
            return Step("", None, None, True)
        self.clock.t = now
        self._fire_commit_timer(now)
        if self.ended_at is not None and not self._finished:
            self._finish(now)
        revealed = False
        for i, lane in enumerate(self.lanes):
            if lane.due(now) and lane.poll(now, self._out) and i == 0:
                revealed = True
        if revealed:
            self._figures_due = True
        if self._finished and all(lane.done for lane in self.lanes):
            self._close(now)
        html = "".join(self._out)
        self._out = []
        return Step(html, self._figures(now, force=self.done), self.wake_at, self.done)

    # --- the commit stage ------------------------------------------------------------

    def _fire_commit_timer(self, now: float, *, overdue_only: bool = False) -> None:
        wake = self._commit_wake
        if wake is not None and (wake < now if overdue_only else wake <= now):
            self._drain_commit(now)

    def _drain_commit(self, now: float) -> None:
        assert self.commit is not None
        output = self.commit.poll(now)
        if self.pieces is not None:
            self.pieces.extend(TimedPiece(now, piece) for piece in output.pieces)
        for piece in output.pieces:
            if isinstance(piece, Committed):
                self._committed(piece.text, now)
            elif isinstance(piece, Reasoning):
                self._show_reasoning(piece.text, now)
            elif isinstance(piece, (Struck, Revision)):
                for lane in self.lanes:
                    lane.add_mark(piece, now, self._out)
        self._commit_wake = output.wake_at

    def _committed(self, text: str, now: float) -> None:
        if not text:
            return
        if self.commits is not None:
            self.commits.append(Arrival(now, text))
        if not self._thinking_done and self.reasoning:
            self._thinking_ended(now)
        for lane in self.lanes:
            lane.push(text, now)

    # --- what was shown ------------------------------------------------------------------

    @property
    def shown_text(self) -> str:
        if self.mode == "json":
            return "".join(self.json_text)
        return self.lanes[0].text if self.lanes else ""


__all__ = ["ChatPipeline", "Step", "StepClock"]
