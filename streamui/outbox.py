"""One ordered channel of frames per stream.

The pipeline's driver puts each frame here without awaiting; one sender coroutine
hands them to the sink (the journal) in order. Frames put before the sender got a
turn go out as one, so a frozen markdown block and the tail it leaves behind are
always swapped together; the live figures ride along, latest wins.

A sink that takes a frame at once is given as `direct`: each frame goes straight to it, in
order, and no sender task wakes per frame (issue 9: a task step per frame is a cost the
framework's own floor does not pay). The hub always gives one: the in-process journal takes
each frame at once, and with Redis so does the memory copy, while streamui.journal_writer
sends the frames to Redis one entry each, several per round trip. The merging sender remains
for a caller that only has an awaiting sink.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Frame:
    html: str
    figures: dict[str, str] | None = None


Sink = Callable[[Frame], Awaitable[None]]
DirectSink = Callable[[Frame], None]


class Outbox:
    def __init__(self, sink: Sink, direct: DirectSink | None = None) -> None:
        self._sink = sink
        self._direct = direct
        self._queue: list[str] = []
        self._figures: dict[str, str] | None = None
        self._ready = asyncio.Event()
        self._closed = False

    def put_frame(self, frame: Frame) -> None:
        if self._closed:
            raise RuntimeError("outbox closed")
        if self._direct is not None:
            if frame.html or frame.figures:
                self._direct(frame)
            return
        if frame.html:
            self._queue.append(frame.html)
        if frame.figures:
            self._figures = frame.figures
        if self._queue or self._figures:
            self._ready.set()

    def close(self) -> None:
        """No more frames; `run` returns once the queue is flushed."""
        self._closed = True
        self._ready.set()

    async def run(self) -> None:
        while True:
            if self._queue or self._figures:
                frame = Frame("".join(self._queue), self._figures)
                self._queue, self._figures = [], None
                await self._sink(frame)
                continue
            if self._closed:
                return
            self._ready.clear()
            await self._ready.wait()


__all__ = ["DirectSink", "Frame", "Outbox", "Sink"]
