"""How a chat stream ends: finished (the upstream ended and every lane caught up), stopped (Stop,
a closed tab: the smoothing cushion shown at once), and compacted (kept for resume, the working
state dropped).

`StreamEnd` is the part of `ChatPipeline` that finishes the stages and closes the answer, the
JSON document and the tool-call cards; the pipeline (`chat.ChatPipeline`) owns the state it
reads and writes, and decides when the stream is over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..upstream.events import CUT_OFF_REASONS, UpstreamError
from ..widgets.render import JSONWidgetRenderer
from ..widgets.tools import ToolCallsRenderer
from .commit import CommitStage
from .lane import Lane

if TYPE_CHECKING:
    from .chat import StepClock


class StreamEnd:
    commit: CommitStage | None
    lanes: list[Lane]
    json: JSONWidgetRenderer | None
    tools: ToolCallsRenderer | None
    json_text: list[str]
    error: UpstreamError | None
    finish_reason: str | None
    ended_at: float | None
    done: bool
    clock: StepClock
    _out: list[str]
    _commit_wake: float | None
    _finished: bool

    if TYPE_CHECKING:

        def _fire_commit_timer(self, now: float, *, overdue_only: bool = False) -> None: ...

        def _drain_commit(self, now: float) -> None: ...

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
        self._close_widgets(failed=True)
        self.ended_at = self.ended_at if self.ended_at is not None else now
        self.done = True
        html = "".join(self._out)
        self._out = []
        return html

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

    def _finish(self, now: float) -> None:
        """The upstream ended: the commit stage lets go of what it held, the lanes of their cushion."""
        self._finished = True
        if self.commit is not None:
            self.commit.finish(now)
            self._drain_commit(now)
            self._commit_wake = None
        for lane in self.lanes:
            lane.finish(now)

    def _close(self, now: float) -> None:
        """Finished and every lane caught up: the answer ends as a finished document, cut short
        when the upstream failed or stopped at a limit."""
        cut_short = self.error is not None or self.finish_reason in CUT_OFF_REASONS
        for lane in self.lanes:
            (lane.close_cut_short if cut_short else lane.close)(now, self._out)
        self._close_widgets(failed=self.error is not None)
        self.done = True

    def _close_widgets(self, *, failed: bool) -> None:
        if self.json is not None:
            self._out.extend(self.json.close())
        if self.tools is not None:
            self._out.extend(self.tools.close(failed=failed))


__all__ = ["StreamEnd"]
