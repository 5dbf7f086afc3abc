"""What arrives at the commit stage: upstream events sorted into draft, reasoning and
held answer text.

`CommitInput` is the part of `CommitStage` that takes events in; nothing here decides a
commit. The stage (`commit.CommitStage`) owns the state it reads and writes.
"""

from __future__ import annotations

from ..upstream.events import (
    Confirm,
    DraftDelta,
    End,
    Event,
    ReasoningDelta,
    Rollback,
    TextDelta,
    UpstreamError,
)
from .commit_points import FenceTracker
from .commit_records import CommitStats, Piece, Reasoning
from .think import ThinkSplitter


class CommitInput:
    stats: CommitStats
    _think: ThinkSplitter
    _fence: FenceTracker
    _draft: str
    _held: str
    _times: list[float]
    _code: list[bool]
    _out: list[Piece]
    _finished: bool

    def push(self, event: Event, now: float) -> None:
        """An upstream event arrived at `now`. `End` and `UpstreamError` finish the
        stream (what was delivered before an error stays valid); tool calls and usage
        are not answer text and are ignored, as is anything after the end."""
        if self._finished:
            return
        if isinstance(event, TextDelta):
            self._content(event.text, now)
        elif isinstance(event, ReasoningDelta):
            self._reasoning(event.text, now)
        elif isinstance(event, DraftDelta):
            self._draft += event.text
        elif isinstance(event, Rollback):
            self.stats.rollbacks += 1
            self.stats.rollback_overflow += max(0, event.chars - len(self._draft))
            self._draft = self._draft[: max(0, len(self._draft) - event.chars)]
        elif isinstance(event, Confirm):
            text, self._draft = self._draft, ""
            self._content(text, now)
        elif isinstance(event, (End, UpstreamError)):
            self.finish(now)

    def finish(self, now: float) -> None:
        """The upstream ended at `now`; nothing more will be pushed."""
        if self._finished:
            return
        for channel, text in self._think.flush():
            self._route(channel, text, now)
        self.stats.discarded_draft_chars += len(self._draft)
        self._draft = ""
        self._finished = True

    def _content(self, text: str, now: float) -> None:
        for channel, segment in self._think.feed(text):
            self._route(channel, segment, now)

    def _route(self, channel: str, text: str, now: float) -> None:
        if channel == "reasoning":
            self._reasoning(text, now)
            return
        if self.stats.first_answer_arrival_at is None:
            self.stats.first_answer_arrival_at = now
        self._held += text
        self._times.extend([now] * len(text))
        self._code.extend(self._fence.feed(text))

    def _reasoning(self, text: str, now: float) -> None:
        if not text:
            return
        if self.stats.first_reasoning_at is None:
            self.stats.first_reasoning_at = now
        self.stats.last_reasoning_at = now
        self._out.append(Reasoning(text))


__all__ = ["CommitInput"]
