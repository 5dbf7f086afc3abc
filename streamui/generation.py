"""One generation: upstream events in, committed, paced, rendered and escaped fragments out.

    upstream ──▶ commit stage ──▶ lane(s): pacer ▶ markdown ──▶ outbox ──▶ transport
                    │ reasoning ─────────────────────────────────▶ outbox
    (json mode) text ──▶ partial-JSON widgets ───────────────────▶ outbox
    tool calls ──▶ tool-call cards ─────────────────────────────▶ outbox

It runs inside the asyncio task the consumer owns. Cancelling that task is how Stop,
a closed tab and a dropped socket end a generation:

- the task is almost always suspended inside `async for` over the upstream, so the
  CancelledError surfaces there and unwinds through the upstream's `async with`
  blocks, which close the HTTP response and its socket: the model server sees the
  client leave at once and stops generating (and billing);
- the pacers and the sender are child tasks, cancelled with it in `finally`, and
  the commit stage's hold timer is a timer handle cancelled there too, so nothing
  outlives the generation;
- the caller reads `result()` afterwards; it describes what the user saw, whatever
  the ending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, Sequence

from . import fragments
from .lanes import Lane
from .outbox import Outbox, Sink
from .pipeline.clock import Clock, LoopClock
from .pipeline.commit import CommitStage, Reasoning
from .pipeline.corrections import Committed, Revision, Struck
from .pipeline.metrics import StreamMetrics
from .pipeline.smoothing import SmoothingStrategy
from .upstream.base import ChatRequest, Upstream
from .upstream.events import DraftDelta, End, Event, ReasoningDelta, TextDelta, ToolCallDelta, UpstreamError, Usage
from .upstream.tokens import count_tokens
from .widgets.registry import WidgetRegistry
from .upstream.traces import TraceRecorder
from .widgets.render import JSONWidgetRenderer
from .widgets.tools import ToolCallsRenderer

logger = logging.getLogger("streamui.stream")


@dataclass(slots=True)
class GenerationResult:
    shown: str
    reasoning: str
    end_reason: str  # done, stopped, disconnected, error
    error: UpstreamError | None
    tokens_generated: int
    tokens_generated_source: str
    tokens_shown: int
    metrics: StreamMetrics
    commit: CommitStage | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str | None  # the upstream's, when it ended normally ("stop", "length", ...)
    stop_received_at: float | None


@dataclass(slots=True)
class Generation:
    upstream: Upstream
    request: ChatRequest
    strategies: Sequence[SmoothingStrategy]
    message_id: int
    sink: Sink
    stream_id: str
    mode: str = "chat"  # "chat": markdown answer; "json": structured output as widgets
    commit: CommitStage | None = None
    schema: Mapping[str, Any] | None = None
    widgets: WidgetRegistry | None = None
    clock: Clock = field(default_factory=LoopClock)
    show_figures: bool = False
    figures_interval: float = 0.2
    recorder: TraceRecorder | None = None
    cancel_reason: str = "stopped"
    stop_received_at: float | None = None  # epoch seconds the Stop reached a server, for cancel latency

    metrics: StreamMetrics = field(init=False)
    outbox: Outbox = field(init=False)
    lanes: list[Lane] = field(init=False, default_factory=list)
    _json: JSONWidgetRenderer | None = field(init=False, default=None)
    _tools: ToolCallsRenderer | None = field(init=False, default=None)
    _received: list[str] = field(init=False, default_factory=list)
    _reasoning: list[str] = field(init=False, default_factory=list)
    _json_text: list[str] = field(init=False, default_factory=list)
    _usage_tokens: int | None = field(init=False, default=None)
    _error: UpstreamError | None = field(init=False, default=None)
    _finish_reason: str | None = field(init=False, default=None)
    _commit_timer: asyncio.TimerHandle | None = field(init=False, default=None)
    _thinking_done: bool = field(init=False, default=False)
    _last_figures: float = field(init=False, default=float("-inf"))

    def __post_init__(self) -> None:
        self.metrics = StreamMetrics(self.clock)
        self.outbox = Outbox(self.sink)
        if self.mode == "json":
            self._json = JSONWidgetRenderer(fragments.json_root_id(self.message_id), self.widgets,
                                            schema=self.schema)
        else:
            for i, strategy in enumerate(self.strategies):
                out = fragments.lane_output_id(self.message_id, i)
                metrics = self.metrics if i == 0 else StreamMetrics(self.clock)
                self.lanes.append(Lane(strategy, out, self.outbox, self.clock, metrics,
                                       after_reveal=self._put_figures if i == 0 else None))

    @property
    def strategy_name(self) -> str:
        return self.strategies[0].name if self.strategies else ""

    async def run(self) -> GenerationResult:
        sender = asyncio.create_task(self.outbox.run(), name=f"streamui-send-{self.stream_id}")
        pacers = [asyncio.create_task(lane.pacer.run(), name=f"streamui-pace-{self.stream_id}-{i}")
                  for i, lane in enumerate(self.lanes)]
        self._put_figures(force=True)  # this answer's figures from the start, not the previous answer's
        try:
            async with contextlib.aclosing(self.upstream.stream(self.request)) as events:  # type: ignore[type-var]
                async for event in events:
                    if self._handle(event):
                        break
            self._end_commit()
            for lane in self.lanes:
                lane.finish()
            await asyncio.gather(*pacers)
            for lane in self.lanes:
                lane.close()
            self._close_widgets()
            self._put_figures(force=True)
            self.outbox.close()
            await sender
        finally:
            if self._commit_timer is not None:
                self._commit_timer.cancel()
            for task in (*pacers, sender):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        return self.result("error" if self._error else "done")

    # --- upstream events -----------------------------------------------------------

    def _handle(self, event: Event) -> bool:
        """Feed one upstream event; True when the stream is over."""
        if self.recorder is not None:
            self.recorder.record(event, self.clock.now())
        if isinstance(event, (TextDelta, DraftDelta)) and self.commit is not None:
            # The model's pace, as it produced text (drafts included), for the strategies behind the commit stage.
            now = self.clock.now()
            for lane in self.lanes:
                lane.strategy.observe_upstream(len(event.text), now)
        if isinstance(event, TextDelta):
            self.metrics.on_arrival(event.text)
            self._received.append(event.text)
        elif isinstance(event, ReasoningDelta):
            self.metrics.on_reasoning()
            self._reasoning.append(event.text)
        elif isinstance(event, ToolCallDelta):
            self._tool_call(event)
            return False
        elif isinstance(event, Usage):
            if event.completion_tokens is not None:
                self._usage_tokens = event.completion_tokens
            return False
        elif isinstance(event, UpstreamError):
            self._error = event
            logger.warning("stream %s upstream error (%s): %s", self.stream_id, event.kind, event.message)
            return True
        elif isinstance(event, End):
            self._finish_reason = event.reason
            return True
        if self._json is not None and isinstance(event, TextDelta):
            self._json_text.append(event.text)
            self.outbox.put(*self._json.feed(event.text))
            self.metrics.on_reveal(event.text)
            self._put_figures()
        elif self._json is None and self.commit is not None:
            self.commit.push(event, self.clock.now())
            self._drain_commit()
        elif self._json is None and isinstance(event, TextDelta):
            self._committed(event.text)
        if isinstance(event, ReasoningDelta) and self.commit is None:
            self._show_reasoning(event.text)
        return False

    # --- the commit stage ----------------------------------------------------------

    def _drain_commit(self) -> None:
        assert self.commit is not None
        if self._commit_timer is not None:
            self._commit_timer.cancel()
            self._commit_timer = None
        output = self.commit.poll(self.clock.now())
        for piece in output.pieces:
            if isinstance(piece, Committed):
                self._committed(piece.text)
            elif isinstance(piece, Reasoning):
                self._show_reasoning(piece.text)
            elif isinstance(piece, (Struck, Revision)):
                for lane in self.lanes:
                    lane.add_mark(piece)
        if output.wake_at is not None:
            # A timer handle, not a task: the hold limit fires even if the upstream goes quiet.
            delay = max(0.0, output.wake_at - self.clock.now())
            self._commit_timer = asyncio.get_running_loop().call_later(delay, self._drain_commit)

    def _end_commit(self) -> None:
        if self.commit is not None and self._json is None:
            self.commit.finish(self.clock.now())
            self._drain_commit()

    def _committed(self, text: str) -> None:
        if not text:
            return
        if not self._thinking_done and self._reasoning:
            self._thinking_done = True
            seconds = self.clock.now() - (self.metrics.first_reasoning or self.metrics.started_at)
            self.outbox.put(str(fragments.thinking_done(self.message_id, seconds)))
        for lane in self.lanes:
            lane.pacer.push(text)

    def _show_reasoning(self, text: str) -> None:
        if not text:
            return
        if self.metrics.first_reasoning_shown is None:
            self.metrics.first_reasoning_shown = self.clock.now()
            self.outbox.put(str(fragments.thinking_started(self.message_id, text)))
            return
        self.outbox.put(str(fragments.reasoning_append(self.message_id, text)))

    # --- widgets -------------------------------------------------------------------

    def _tool_call(self, event: ToolCallDelta) -> None:
        if self._tools is None:
            self._tools = ToolCallsRenderer(fragments.tools_id(self.message_id))
        self.outbox.put(*self._tools.feed(event.index, event.call_id, event.name, event.arguments))
        if self.metrics.first_visible is None:  # the tool card is the first thing the user sees
            self.metrics.first_visible = self.clock.now()
            self._put_figures(force=True)

    def _close_widgets(self) -> None:
        if self._json is not None:
            self.outbox.put(*self._json.close())
        if self._tools is not None:
            self.outbox.put(*self._tools.close(failed=self._error is not None))

    # --- figures and result --------------------------------------------------------

    def _put_figures(self, *, force: bool = False) -> None:
        if not self.show_figures:
            return
        now = self.clock.now()
        if not force and now - self._last_figures < self.figures_interval:
            return
        self._last_figures = now
        self.outbox.put_figures(self.figures())

    def figures(self) -> dict[str, str]:
        ttft = self.metrics.ms_since_start(self.metrics.first_visible)
        received = len(self._received)  # one text event is about one token
        # Live, tokens shown are estimated from characters at the stream's own chars-per-token
        # (exact once everything is shown); the StreamRecord gets a tiktoken count at the end.
        shown = round(self.metrics.chars_shown * received / self.metrics.chars_received) if received else 0
        return {
            "ttft": "–" if ttft is None else f"{ttft:.0f} ms",
            "shown": str(shown),
            "generated": str(self._usage_tokens if self._usage_tokens is not None
                             else len(self._received) + len(self._reasoning)),
            "elapsed": f"{self.metrics.elapsed():.1f} s",
            "strategy": " | ".join(s.name for s in self.strategies) if self.mode == "chat" else "json",
        }

    @property
    def shown_text(self) -> str:
        if self._json is not None:
            return "".join(self._json_text)
        return self.lanes[0].text if self.lanes else ""

    def result(self, end_reason: str | None = None) -> GenerationResult:
        shown = self.shown_text
        reasoning = "".join(self._reasoning)
        if self._usage_tokens is not None:
            generated, source = self._usage_tokens, "usage"
        else:
            generated, source = count_tokens("".join(self._received)) + count_tokens(reasoning), "tiktoken"
        tool_calls = [
            {"index": index, "name": call.name, "arguments": call.arguments.raw if call.arguments else ""}
            for index, call in sorted((self._tools.calls if self._tools else {}).items())
        ]
        return GenerationResult(
            shown=shown,
            reasoning=reasoning,
            end_reason=end_reason or self.cancel_reason,
            error=self._error,
            tokens_generated=generated,
            tokens_generated_source=source,
            tokens_shown=count_tokens(shown),
            metrics=self.metrics,
            commit=self.commit,
            tool_calls=tool_calls,
            finish_reason=self._finish_reason,
            stop_received_at=self.stop_received_at,
        )


__all__ = ["Generation", "GenerationResult"]
