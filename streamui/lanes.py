"""A lane: committed answer text paced by one strategy and rendered as markdown into one output.

A chat answer has one lane; the side-by-side view plays the same committed text
through two lanes with different strategies. Correction marks travel with the text:
each belongs at a character offset of the committed answer and is placed when the
pacer's reveals reach it, so a mark never shows before the text it follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from . import fragments
from .outbox import Outbox
from .pipeline.clock import Clock
from .pipeline.markdown import BlockUpdate, FrozenBlock, Mark, MarkdownStream
from .pipeline.metrics import StreamMetrics
from .pipeline.pacing import Pacer
from .pipeline.smoothing import SmoothingStrategy


@dataclass(slots=True)
class Lane:
    strategy: SmoothingStrategy
    output_id: str
    outbox: Outbox
    clock: Clock
    metrics: StreamMetrics
    markdown: MarkdownStream = field(default_factory=MarkdownStream)
    after_reveal: Callable[[], None] | None = None  # e.g. refresh the live figures
    shown: list[str] = field(default_factory=list)
    _marks: list[Mark] = field(default_factory=list)
    _revealed_chars: int = 0
    pacer: Pacer = field(init=False)

    def __post_init__(self) -> None:
        self.pacer = Pacer(self.strategy, self._reveal, self.clock)

    @property
    def text(self) -> str:
        return "".join(self.shown)

    def add_mark(self, mark: Mark) -> None:
        self._marks.append(mark)
        self._place_marks()

    def finish(self) -> None:
        self.pacer.finish()

    def close(self) -> None:
        """After the pacer is done: marks left at the end, then the last tail freezes."""
        self._place_marks(final=True)
        self._emit(self.markdown.finish())

    async def _reveal(self, text: str) -> None:
        # Split the reveal at mark offsets so each mark lands exactly where it belongs.
        while text:
            next_at = self._marks[0].at if self._marks else None
            take = len(text) if next_at is None else max(0, min(len(text), next_at - self._revealed_chars))
            piece, text = text[:take], text[take:]
            if piece:
                self.shown.append(piece)
                self._revealed_chars += len(piece)
                self.metrics.on_reveal(piece)
                self._emit(self.markdown.append(piece))
            self._place_marks()
        if self.after_reveal is not None:
            self.after_reveal()

    def _place_marks(self, final: bool = False) -> None:
        while self._marks and (final or self._marks[0].at <= self._revealed_chars):
            self._emit(self.markdown.append_mark(self._marks.pop(0)))

    def _emit(self, updates: list[BlockUpdate]) -> None:
        frozen = [u for u in updates if isinstance(u, FrozenBlock)]
        tails = [u for u in updates if not isinstance(u, FrozenBlock)]
        # Frozen blocks first, then the tail: at no moment is text that was shown missing.
        self.outbox.put(*(str(fragments.append_block(self.output_id, u.html)) for u in frozen))
        if tails:
            self.outbox.put(str(fragments.replace_tail(self.output_id, tails[-1].html)))


__all__ = ["Lane"]
