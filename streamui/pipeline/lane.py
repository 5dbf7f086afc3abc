"""A lane: committed answer text paced by one strategy and rendered as markdown into one output.

A chat answer has one lane; the side-by-side view plays the same committed text
through two lanes with different strategies. Correction marks travel with the text:
each belongs at a character offset of the committed answer and is placed when the
reveals reach it, so a mark never shows before the text it follows.

Plain Python: the pipeline tells a lane the time (`now`) and collects the fragments
it writes into a list. `render=False` keeps everything but the markdown (the
benchmarks, which measure the schedule, not the HTML).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import fragments
from .corrections import Revision, Struck
from .markdown import BlockUpdate, FrozenBlock, MarkdownStream
from .markdown_close import closing
from .metrics import StreamMetrics
from .smoothing import Arrival, SmoothingStrategy, SpinGuard
from .tail import tail_appends, top_level_elements

Mark = Struck | Revision


@dataclass(frozen=True, slots=True)
class PlacedMark:
    t: float
    mark: Mark


Shown = Arrival | PlacedMark


class Lane:
    def __init__(self, strategy: SmoothingStrategy, output_id: str, metrics: StreamMetrics, *,
                 render: bool = True, record: bool = False) -> None:
        self.strategy = strategy
        self.output_id = output_id
        self.metrics = metrics
        self.markdown = MarkdownStream() if render else None
        self.shown: list[str] = []
        self.wake_at: float | None = None
        self.done = False
        # With `record`: the strategy's reveals as it made them, and what the lane showed
        # (reveal pieces split at marks, and the marks), for the virtual-clock driver.
        self.schedule: list[Arrival] | None = [] if record else None
        self.visible: list[Shown] | None = [] if record else None
        self._due = False
        self._marks: list[Mark] = []
        self._revealed_chars = 0
        self._tail_html = ""
        self._guard = SpinGuard(strategy)

    @property
    def text(self) -> str:
        return "".join(self.shown)

    def due(self, now: float) -> bool:
        return not self.done and (self._due or (self.wake_at is not None and self.wake_at <= now))

    def push(self, text: str, now: float) -> None:
        self.strategy.push(text, now)
        self._due = True

    def finish(self, now: float) -> None:
        self.strategy.finish(now)
        self._due = True

    def add_mark(self, mark: Mark, now: float, out: list[str]) -> None:
        self._marks.append(mark)
        self._place_marks(now, out)

    def poll(self, now: float, out: list[str]) -> bool:
        """Poll the strategy and show what it reveals; True if it revealed text."""
        self._due = False
        reveal = self.strategy.poll(now)
        if reveal.text:
            self._reveal(reveal.text, now, out)
        if reveal.done:
            self.done = True
            self.wake_at = None
        else:
            self.wake_at = self._guard.next_wake(reveal, now)
        return bool(reveal.text)

    def close(self, now: float, out: list[str]) -> None:
        """After the strategy is done: marks left at the end, then the last tail freezes."""
        self._place_marks(now, out, final=True)
        if self.markdown is not None:
            self._emit(self.markdown.finish(), out)

    def close_cut_short(self, now: float, out: list[str]) -> None:
        """`close` for an answer that was stopped or cut off: the open constructs are closed first, so
        the page and the stored text read as a finished document (`markdown_close`)."""
        shown = self.text
        end = closing(shown)
        if end.drop or end.append:
            self.shown = [shown[: len(shown) - end.drop] + end.append]
            if end.drop and self.markdown is not None:
                # Off the page too, not only off the stored text: a reload shows what this did.
                self.markdown.retract(shown[len(shown) - end.drop:])
            if end.append and self.markdown is not None:
                self._emit(self.markdown.append(end.append), out)
        self.close(now, out)

    def _reveal(self, text: str, now: float, out: list[str]) -> None:
        if self.schedule is not None:
            self.schedule.append(Arrival(now, text))
        # Split the reveal at mark offsets so each mark lands exactly where it belongs.
        while text:
            next_at = self._marks[0].at if self._marks else None
            take = len(text) if next_at is None else max(0, min(len(text), next_at - self._revealed_chars))
            piece, text = text[:take], text[take:]
            if piece:
                self.shown.append(piece)
                self._revealed_chars += len(piece)
                self.metrics.on_reveal(piece)
                if self.visible is not None:
                    self.visible.append(Arrival(now, piece))
                if self.markdown is not None:
                    self._emit(self.markdown.append(piece), out)
            self._place_marks(now, out)

    def _place_marks(self, now: float, out: list[str], final: bool = False) -> None:
        while self._marks and (final or self._marks[0].at <= self._revealed_chars):
            mark = self._marks.pop(0)
            if self.visible is not None:
                self.visible.append(PlacedMark(now, mark))
            if self.markdown is not None:
                self._emit(self.markdown.append_mark(mark), out)

    def _emit(self, updates: list[BlockUpdate], out: list[str]) -> None:
        tail: str | None = None
        frozen = "".join(u.html for u in updates if isinstance(u, FrozenBlock))
        if frozen:
            if not self._tail_html.startswith(frozen):
                # The step that froze the block also grew it (its last words, then the blank line):
                # grow the client's tail to the block first, so the block moves instead of being
                # sent again (a third of a stream's bytes went on such blocks).
                growth = tail_appends(self._tail_html, frozen)
                if growth:
                    out.extend(str(fragments.append_tail(self.output_id, *change)) for change in growth)
                    self._tail_html = frozen
            # Frozen blocks first, then the tail: at no moment is text that was shown missing.
            movable = self._movable(frozen)
            out.append(str(fragments.append_block(self.output_id, frozen, movable=movable,
                                                  whole=bool(movable) and frozen == self._tail_html)))
            self._tail_html = ""  # the tail is replaced below: it held the frozen blocks
        for update in updates:
            if not isinstance(update, FrozenBlock):
                tail = update.html
        if tail is None:
            return
        if not frozen:
            changes = tail_appends(self._tail_html, tail)
            if changes is not None:
                out.extend(str(fragments.append_tail(self.output_id, *change)) for change in changes)
                self._tail_html = tail
                return
        out.append(str(fragments.replace_tail(self.output_id, tail)))
        self._tail_html = tail

    def _movable(self, frozen: str) -> int:
        """How many elements `frozen` is, when it is exactly the start of the tail the client shows,
        ending at an element boundary (so moving them makes the very DOM appending it would); else 0."""
        if not self._tail_html.startswith(frozen):
            return 0
        rest = self._tail_html[len(frozen):]
        if rest and not (rest[0] == "<" and rest[1:2].isalpha()):
            return 0
        return top_level_elements(frozen) or 0


__all__ = ["Lane", "Mark", "PlacedMark", "Shown"]
