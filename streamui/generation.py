"""One generation: upstream events in, paced and escaped fragments out.

It runs inside the asyncio task the consumer owns. Cancelling that task is how Stop,
a closed tab and a dropped socket end a generation:

- the task is almost always suspended inside `async for` over the upstream, so the
  CancelledError surfaces there and unwinds through the upstream's `async with`
  blocks, which close the HTTP response and its socket: the model server sees the
  client leave at once and stops generating (and billing);
- the pacer is a child task of this one and is cancelled with it, so no timer or
  task outlives the generation;
- the caller reads `result()` afterwards; it describes what the user saw, whatever
  the ending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from . import fragments
from .pipeline.clock import Clock, LoopClock
from .pipeline.metrics import StreamMetrics
from .pipeline.pacing import Pacer
from .pipeline.smoothing import SmoothingStrategy
from .upstream.base import ChatRequest, Upstream
from .upstream.events import End, Event, ReasoningDelta, TextDelta, UpstreamError, Usage
from .upstream.tokens import count_tokens
from .upstream.traces import TraceRecorder

logger = logging.getLogger("streamui.stream")

Send = Callable[[str], Awaitable[None]]


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


@dataclass(slots=True)
class Generation:
    upstream: Upstream
    request: ChatRequest
    strategy: SmoothingStrategy
    widget_id: str
    message_id: int
    send: Send
    stream_id: str
    clock: Clock = field(default_factory=LoopClock)
    show_figures: bool = False
    figures_interval: float = 0.2
    recorder: TraceRecorder | None = None
    cancel_reason: str = "stopped"

    metrics: StreamMetrics = field(init=False)
    _shown: list[str] = field(init=False, default_factory=list)
    _received: list[str] = field(init=False, default_factory=list)
    _reasoning: list[str] = field(init=False, default_factory=list)
    _usage_tokens: int | None = field(init=False, default=None)
    _error: UpstreamError | None = field(init=False, default=None)
    _ended: bool = field(init=False, default=False)
    _last_figures: float = field(init=False, default=float("-inf"))

    def __post_init__(self) -> None:
        self.metrics = StreamMetrics(self.clock)

    async def run(self) -> GenerationResult:
        pacer = Pacer(self.strategy, self._reveal, self.clock)
        pacer_task = asyncio.create_task(pacer.run(), name=f"streamui-pacer-{self.stream_id}")
        try:
            async with contextlib.aclosing(self.upstream.stream(self.request)) as events:  # type: ignore[type-var]
                async for event in events:
                    if self._handle(event, pacer):
                        break
            pacer.finish()
            await pacer_task
        finally:
            if not pacer_task.done():
                pacer_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pacer_task
        await self._send_figures(force=True)
        return self.result("error" if self._error else "done")

    def _handle(self, event: Event, pacer: Pacer) -> bool:
        """Feed one upstream event; True when the stream is over."""
        if self.recorder is not None:
            self.recorder.record(event, self.clock.now())
        if isinstance(event, TextDelta):
            self.metrics.on_arrival(event.text)
            self._received.append(event.text)
            pacer.push(event.text)
        elif isinstance(event, ReasoningDelta):
            self.metrics.on_reasoning()
            self._reasoning.append(event.text)
        elif isinstance(event, Usage):
            if event.completion_tokens is not None:
                self._usage_tokens = event.completion_tokens
        elif isinstance(event, UpstreamError):
            self._error = event
            logger.warning("stream %s upstream error (%s): %s", self.stream_id, event.kind, event.message)
            return True
        elif isinstance(event, End):
            self._ended = True
            return True
        return False

    async def _reveal(self, text: str) -> None:
        self._shown.append(text)
        self.metrics.on_reveal(text)
        await self.send(str(fragments.append_text(self.widget_id, self.message_id, text)))
        await self._send_figures()

    async def _send_figures(self, *, force: bool = False) -> None:
        if not self.show_figures:
            return
        now = self.clock.now()
        if not force and now - self._last_figures < self.figures_interval:
            return
        self._last_figures = now
        await self.send(str(fragments.figures(self.widget_id, self.figures())))

    def figures(self) -> dict[str, str]:
        ttft = self.metrics.ms_since_start(self.metrics.first_visible)
        generated = self._usage_tokens if self._usage_tokens is not None else self.metrics.reveals
        return {
            "ttft": "–" if ttft is None else f"{ttft:.0f} ms",
            "shown": str(len(self._shown)),
            "generated": str(max(generated, len(self._received))),
            "elapsed": f"{self.metrics.elapsed():.1f} s",
            "strategy": self.strategy.name,
        }

    def result(self, end_reason: str | None = None) -> GenerationResult:
        shown = "".join(self._shown)
        reasoning = "".join(self._reasoning)
        if self._usage_tokens is not None:
            generated, source = self._usage_tokens, "usage"
        else:
            generated, source = count_tokens("".join(self._received)) + count_tokens(reasoning), "tiktoken"
        return GenerationResult(
            shown=shown,
            reasoning=reasoning,
            end_reason=end_reason or self.cancel_reason,
            error=self._error,
            tokens_generated=generated,
            tokens_generated_source=source,
            tokens_shown=count_tokens(shown),
            metrics=self.metrics,
        )


__all__ = ["Generation", "GenerationResult", "Send"]
