"""One generation: the asyncio driver of the chat pipeline (streamui.pipeline.chat).

    upstream ──▶ ChatPipeline.push ─┐
    one shared pacing clock ────────┴▶ ChatPipeline.poll ──▶ frames ──▶ sink (the journal)

The pipeline does everything but wait: this driver reads the upstream, pushes each
event with the loop's time, polls the pipeline when its `wake_at` comes (at once
after an event that made something due, otherwise through the process's one pacing
clock, streamui.pacing) and hands each frame to the sink from one sender coroutine,
in order.

It runs inside the asyncio task the hub owns. Cancelling that task is how Stop,
a closed tab and a dropped socket end a generation:

- the task is almost always suspended inside `async for` over the upstream, so the
  CancelledError surfaces there and unwinds through the upstream's `async with`
  blocks, which close the HTTP response and its socket: the model server sees the
  client leave at once and stops generating (and billing);
- the sender is a child task, cancelled with it in `finally`, and the pacing clock's
  entry for this stream is cancelled there too, so nothing outlives the generation;
- the caller reads `result()` afterwards; it describes what the user saw, whatever
  the ending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .frame_governor import FASTEST, FrameGovernor, process_governor
from .outbox import DirectSink, Frame, Outbox, Sink
from .pacing import Ticker, ticker
from .pipeline.chat import ChatPipeline
from .pipeline.clock import Clock, LoopClock
from .pipeline.commit import CommitStage
from .pipeline.metrics import StreamMetrics
from .pipeline.smoothing import SmoothingStrategy
from .tasks import cancel_and_wait
from .upstream.base import ChatRequest, Upstream
from .upstream.events import UpstreamError
from .upstream.tokens import count_tokens
from .upstream.traces import TraceRecorder
from .widgets.registry import WidgetRegistry

logger = logging.getLogger("streamui.stream")

_MAX_POLLS = 64  # polls due at once in one pass before the loop gets a turn


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
    refusal: str  # the provider's refusal text, when the model declined
    stop_received_at: float | None


@dataclass(slots=True)
class Generation:
    upstream: Upstream
    request: ChatRequest
    strategies: Sequence[SmoothingStrategy]
    message_id: int
    sink: Sink
    stream_id: str
    direct_sink: DirectSink | None = None  # the sink, when it takes a frame at once (Outbox)
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
    render: bool = True  # markdown (off: tools measuring the pacing alone)
    # Fewer, fuller frames while the process is busy (None: the process's own, streamui.frame_governor).
    frames: FrameGovernor | None = None

    pipeline: ChatPipeline = field(init=False)
    outbox: Outbox = field(init=False)
    _ticker: Ticker | None = field(init=False, default=None)
    _done: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    _failure: BaseException | None = field(init=False, default=None)
    _held: list[str] = field(init=False, default_factory=list)  # revealed, not yet sent (coalescing)
    _held_figures: dict[str, str] | None = field(init=False, default=None)
    _last_frame: float = field(init=False, default=float("-inf"))
    _frame: float = field(init=False, default=FASTEST)  # the frame interval the pipeline was last given

    def __post_init__(self) -> None:
        self.pipeline = ChatPipeline(
            message_id=self.message_id, strategies=self.strategies, start=self.clock.now(), mode=self.mode,
            commit=self.commit, schema=self.schema, widgets=self.widgets, show_figures=self.show_figures,
            figures_interval=self.figures_interval, render=self.render,
        )
        self.outbox = Outbox(self.sink, self.direct_sink)

    @property
    def metrics(self) -> StreamMetrics:
        return self.pipeline.metrics

    @property
    def strategy_name(self) -> str:
        return self.strategies[0].name if self.strategies else ""

    async def run(self) -> GenerationResult:
        self._ticker = ticker()
        if self.frames is None:
            self.frames = process_governor()
        sender = asyncio.create_task(self.outbox.run(), name=f"streamui-send-{self.stream_id}")
        try:
            self._pump()  # the live figures from the start
            async with contextlib.aclosing(self.upstream.stream(self.request)) as events:  # type: ignore[type-var]
                async for event in events:
                    now = self.clock.now()
                    if self.recorder is not None:
                        self.recorder.record(event, now)
                    over = self.pipeline.push(event, now)
                    if isinstance(event, UpstreamError):
                        logger.warning("stream %s upstream error (%s): %s", self.stream_id, event.kind, event.message)
                    self._pump()
                    if over:
                        break
            self.pipeline.end(self.clock.now())
            self._pump()
            await self._done.wait()
            if self._failure is not None:
                raise self._failure
            self.outbox.close()
            await sender
        except asyncio.CancelledError:
            await self._flush_on_stop(sender)
            raise
        finally:
            self.pipeline.compact()  # kept for resume a while: only what result() reads
            self._ticker.cancel(self._service)
            await cancel_and_wait(sender)
        return self.result("error" if self.pipeline.error else "done")

    async def _flush_on_stop(self, sender: asyncio.Task[None]) -> None:
        """Stopped: the committed cushion and a finished document go out as one last frame, before the
        hub writes the end (bounded: a journal that is failing must not hold the stop up)."""
        try:
            now = self.clock.now()
            html = "".join(self._held) + self.pipeline.stop(now)
            self._held, self._held_figures = [], None
            if html:
                self.outbox.put_frame(Frame(html, self.pipeline.final_figures(now)))
            self.outbox.close()
            await asyncio.wait_for(asyncio.shield(sender), 1.0)
        except Exception:
            logger.warning("stream %s: the last frame after Stop was not sent", self.stream_id, exc_info=True)

    def _service(self) -> None:
        """The pacing clock's callback: a failure ends this stream (run() raises it), not the clock."""
        try:
            self._pump()
        except Exception as exc:  # handed to run(), which raises it
            self._failure = exc
            self._done.set()

    def _pump(self) -> None:
        """Poll the pipeline while it is due; hand on one frame; arm the pacing clock for the next wake."""
        now = self.clock.now()
        frame = self.frames.frame() if self.frames is not None else FASTEST
        if frame != self._frame:
            self._frame = frame
            self.pipeline.set_frame(frame if frame > FASTEST else 0.0)  # 0: each strategy's own again
        for _ in range(_MAX_POLLS):
            now = self.clock.now()
            wake = self.pipeline.wake_at
            if wake is None or wake > now:
                break
            step = self.pipeline.poll(now)
            if step.html:
                self._held.append(step.html)
            self._held_figures = step.figures or self._held_figures
            if step.done:
                break
        else:
            wake = self.pipeline.wake_at  # due again at once: let the loop breathe, poll on the next pass
        assert self._ticker is not None
        if self._held or self._held_figures:
            # Busy: what one pass produced beside the reveal (a mark, figures) waits for the frame too.
            spacing = frame if frame > FASTEST else 0.0
            send_at = self._last_frame + spacing
            if now >= send_at or self.pipeline.done:
                self.outbox.put_frame(Frame("".join(self._held), self._held_figures))
                self._held, self._held_figures, self._last_frame = [], None, now
            else:
                wake = send_at if wake is None else min(wake, send_at)
        if self.pipeline.done:
            self._done.set()
        elif wake is not None:
            self._ticker.schedule(self._service, wake)

    def figures(self) -> dict[str, str]:
        return self.pipeline.figures()

    @property
    def shown_text(self) -> str:
        return self.pipeline.shown_text

    def result(self, end_reason: str | None = None) -> GenerationResult:
        p = self.pipeline
        p.clock.t = max(p.clock.t, self.clock.now())  # the figures' "elapsed" runs to the end
        shown = p.shown_text
        reasoning = "".join(p.reasoning)
        if p.usage_tokens is not None:
            generated, source = p.usage_tokens, "usage"
        else:
            generated, source = count_tokens("".join(p.received)) + count_tokens(reasoning), "tiktoken"
        tool_calls = [
            {"index": index, "name": call.name, "arguments": call.arguments.raw if call.arguments else ""}
            for index, call in sorted((p.tools.calls if p.tools else {}).items())
        ]
        return GenerationResult(
            shown=shown,
            reasoning=reasoning,
            end_reason=end_reason or self.cancel_reason,
            error=p.error,
            tokens_generated=generated,
            tokens_generated_source=source,
            tokens_shown=count_tokens(shown),
            metrics=p.metrics,
            commit=self.commit,
            tool_calls=tool_calls,
            finish_reason=p.finish_reason,
            refusal="".join(p.refusal),
            stop_received_at=self.stop_received_at,
        )


__all__ = ["Generation", "GenerationResult"]
