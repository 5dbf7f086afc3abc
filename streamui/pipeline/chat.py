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
    CUT_OFF_REASONS,
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


class ChatPipeline:
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
            cut_short = self.error is not None or self.finish_reason in CUT_OFF_REASONS
            for lane in self.lanes:
                (lane.close_cut_short if cut_short else lane.close)(now, self._out)
            if self.json is not None:
                self._out.extend(self.json.close())
            if self.tools is not None:
                self._out.extend(self.tools.close(failed=self.error is not None))
            self.done = True
        html = "".join(self._out)
        self._out = []
        return Step(html, self._figures(now, force=self.done), self.wake_at, self.done)

    def stop(self, now: float) -> str:
        """Stopped (Stop, a closed tab, a lost journal): show at once what was already committed but
        still in the smoothing cushion, the user paid for it; held text and drafts stay hidden.
        The answer then ends as a finished document (no literal `**`, no empty list item). Returns
        the last frame's fragments."""
        if self.done:
            return ""
        self.clock.t = now
        self._fire_commit_timer(now)  # what the commit stage has released by now, nothing it holds
        for lane in self.lanes:
            if not lane.done:
                lane.finish(now)
                # The strategy's whole cushion, revealed now: its own schedule, run ahead on its clock.
                at = now
                for _ in range(10_000):
                    lane.poll(at, self._out)
                    if lane.done:
                        break
                    at = max(at + 0.001, lane.wake_at or at + 1.0)
            lane.close_cut_short(now, self._out)
        if self.json is not None:
            self._out.extend(self.json.close())
        if self.tools is not None:
            self._out.extend(self.tools.close(failed=True))
        self.ended_at = self.ended_at if self.ended_at is not None else now
        self.done = True
        html = "".join(self._out)
        self._out = []
        return html

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

    def _finish(self, now: float) -> None:
        self._finished = True
        if self.commit is not None:
            self.commit.finish(now)
            self._drain_commit(now)
            self._commit_wake = None
        for lane in self.lanes:
            lane.finish(now)

    def _committed(self, text: str, now: float) -> None:
        if not text:
            return
        if self.commits is not None:
            self.commits.append(Arrival(now, text))
        if not self._thinking_done and self.reasoning:
            self._thinking_done = True
            seconds = now - (self.metrics.first_reasoning or self.metrics.started_at)
            self._out.append(str(fragments.thinking_done(self.message_id, seconds)))
        for lane in self.lanes:
            lane.push(text, now)

    def _show_reasoning(self, text: str, now: float) -> None:
        if not text:
            return
        if self.shown_reasoning is not None:
            self.shown_reasoning.append(Arrival(now, text))
        if self.metrics.first_reasoning_shown is None:
            self.metrics.first_reasoning_shown = now
            # The panel opens with its first text inside (an append in the same frame would be lost).
            self._out.append(str(fragments.thinking_started(self.message_id, text)))
            return
        self._out.append(str(fragments.reasoning_append(self.message_id, text)))

    # --- figures and what was shown ----------------------------------------------------

    def _figures(self, now: float, *, force: bool) -> dict[str, str] | None:
        due, self._figures_due = self._figures_due, False
        force, self._figures_forced = force or self._figures_forced, False
        if not self.show_figures or not (due or force):
            return None
        if not force and now - self._last_figures < self.figures_interval:
            return None
        values = self.figures()
        if not force and values == self._last_values:
            return None  # nothing changed: no frame for it
        self._last_figures, self._last_values = now, values
        return values

    def figures(self) -> dict[str, str]:
        ttft = self.metrics.ms_since_start(self.metrics.first_visible)
        # One text or draft event is about one token. Live, tokens shown are estimated from characters at
        # the stream's own chars-per-token (drafts count: a speculative stream's confirmed text is
        # shown); the StreamRecord gets a tiktoken count at the end.
        received, chars = self._arrived_events, self._arrived_chars
        shown = round(self.metrics.chars_shown * received / chars) if received and chars else 0
        return {
            "ttft": "–" if ttft is None else f"{ttft:.0f} ms",
            "shown": str(shown),
            "generated": str(self.usage_tokens if self.usage_tokens is not None
                             else len(self.received) + len(self.reasoning)),
            "elapsed": f"{self.metrics.elapsed():.1f} s",
            "strategy": " | ".join(s.name for s in self.strategies) if self.mode == "chat" else "json",
        }

    @property
    def shown_text(self) -> str:
        if self.mode == "json":
            return "".join(self.json_text)
        return self.lanes[0].text if self.lanes else ""

    def compact(self) -> None:
        """The stream is over: keep what it showed and its figures, drop the working state.

        A finished stream stays in memory for resume a while; its markdown parser state
        (token caches, the open tail's HTML) and the JSON renderer are what it cost while
        live, and nothing reads them any more."""
        self.done = True
        self.json = None
        self._out = []
        for lane in self.lanes:
            lane.markdown = None
            lane.shown = [lane.text]
            lane._tail_html = ""
        self.json_text = ["".join(self.json_text)] if self.json_text else []


__all__ = ["ChatPipeline", "Step", "StepClock"]
