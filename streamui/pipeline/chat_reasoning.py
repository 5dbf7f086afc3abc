"""The reasoning panel of a chat answer: opened with the first reasoning text shown, appended to,
and marked "Thought for N s" when the answer's first text is committed.

`ReasoningPanel` is the part of `ChatPipeline` that writes the panel's fragments; the pipeline
(`chat.ChatPipeline`) owns the state it reads and writes, and checks `_thinking_done` itself
before calling `_thinking_ended`, since it does so for every committed piece.
"""

from __future__ import annotations

from .. import fragments
from .metrics import StreamMetrics
from .smoothing import Arrival


class ReasoningPanel:
    message_id: int
    metrics: StreamMetrics
    shown_reasoning: list[Arrival] | None
    _out: list[str]
    _thinking_done: bool

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

    def _thinking_ended(self, now: float) -> None:
        """The answer's first text is committed: the panel's summary says how long the model thought."""
        self._thinking_done = True
        seconds = now - (self.metrics.first_reasoning or self.metrics.started_at)
        self._out.append(str(fragments.thinking_done(self.message_id, seconds)))


__all__ = ["ReasoningPanel"]
