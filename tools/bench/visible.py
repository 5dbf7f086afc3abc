"""What a user saw of a pipeline run, and what a renderer without a commit stage would show.

The runs themselves come from the chat pipeline's virtual-clock driver
(`streamui.pipeline.virtual.run_pipeline`), the very object the live path drives.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence

from streamui.pipeline.corrections import Struck
from streamui.pipeline.lane import PlacedMark, Shown
from streamui.pipeline.smoothing import Arrival, Reveal, SmoothingStrategy
from streamui.pipeline.virtual import PipelineRun
from streamui.upstream.events import Confirm, DraftDelta, End, Rollback, TextDelta, UpstreamError
from streamui.upstream.traces import TimedEvent


def visible_text_of(item: Shown) -> str:
    """The answer characters an item puts on screen: a reveal's text, a struck phrase
    (shown struck through); a revision mark is a button whose original stays hidden."""
    if isinstance(item, Arrival):
        return item.text
    return item.mark.text if isinstance(item.mark, Struck) else ""


def visible_states(run: PipelineRun) -> Iterator[str]:
    """The answer text on screen after every reveal and every mark."""
    text = ""
    for item in run.visible:
        text += visible_text_of(item)
        yield text


def retracted_chars(states: Iterable[str]) -> int:
    """Characters of an earlier visible text that the next one does not keep as its
    prefix (removed or changed), summed over consecutive states."""
    total = 0
    prev = ""
    for cur in states:
        if not cur.startswith(prev):
            total += len(prev) - len(os.path.commonprefix([prev, cur]))  # noqa: RUF071  (a string prefix is meant)
        prev = cur
    return total


def naive_states(events: Sequence[TimedEvent]) -> Iterator[str]:
    """What a renderer without a commit stage shows after every upstream event: text as
    it arrives, draft text at once (after the final text), rolled-back draft removed."""
    final = ""
    draft = ""
    for timed in events:
        ev = timed.event
        if isinstance(ev, TextDelta):
            final += ev.text
        elif isinstance(ev, DraftDelta):
            draft += ev.text
        elif isinstance(ev, Rollback):
            draft = draft[: max(0, len(draft) - ev.chars)]
        elif isinstance(ev, Confirm):
            final, draft = final + draft, ""
        elif isinstance(ev, (End, UpstreamError)):
            yield final  # unconfirmed draft is gone once the stream ends
            return
        else:
            continue
        yield final + draft
    if draft:
        yield final


class ReplayUpstream(SmoothingStrategy):
    """`inner`, told of timed upstream arrivals (`observe_upstream`) up to each time it is
    pushed, polled or finished at: the strategy as `run_pipeline` drives it behind a
    commit stage, for `virtual.simulate` to drive over the commits alone."""

    name = "replay-upstream"

    def __init__(self, inner: SmoothingStrategy, upstream: Sequence[Arrival]) -> None:
        self.inner = inner
        self.upstream = upstream
        self._told = 0

    def _tell(self, now: float) -> None:
        while self._told < len(self.upstream) and self.upstream[self._told].t <= now:
            arrival = self.upstream[self._told]
            self.inner.observe_upstream(len(arrival.text), arrival.t)
            self._told += 1

    def push(self, text: str, now: float) -> None:
        self._tell(now)
        self.inner.push(text, now)

    def finish(self, now: float) -> None:
        self._tell(now)
        self.inner.finish(now)

    def poll(self, now: float) -> Reveal:
        self._tell(now)
        return self.inner.poll(now)

    def __repr__(self) -> str:
        return f"ReplayUpstream({self.inner!r})"


def upstream_until_end(events: Sequence[TimedEvent]) -> tuple[list[TimedEvent], float | None]:
    """The events up to and including the first `End` / `UpstreamError`, and its time."""
    out: list[TimedEvent] = []
    for timed in events:
        out.append(timed)
        if isinstance(timed.event, (End, UpstreamError)):
            return out, timed.t
    return out, None


__all__ = [
    "PlacedMark",
    "ReplayUpstream",
    "naive_states",
    "retracted_chars",
    "upstream_until_end",
    "visible_states",
    "visible_text_of",
]
