"""One ordered channel of fragments per stream.

Every producer (the pacers, reasoning, JSON widgets, tool calls) puts fragments here
without awaiting; one sender coroutine hands them on in order. Fragments put in the
same step of the event loop go out as one frame, so a frozen markdown block and the
tail it leaves behind are swapped together. Live figures ride along, latest wins.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Callable


@dataclass(frozen=True, slots=True)
class Frame:
    html: str
    figures: dict[str, str] | None = None


Sink = Callable[[Frame], Awaitable[None]]


class Outbox:
    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._queue: list[str] = []
        self._figures: dict[str, str] | None = None
        self._ready = asyncio.Event()
        self._closed = False
        self.frames_sent = 0

    def put(self, *fragments: str) -> None:
        if self._closed:
            raise RuntimeError("outbox closed")
        self._queue.extend(f for f in fragments if f)
        if self._queue:
            self._ready.set()

    def put_figures(self, figures: dict[str, str]) -> None:
        self._figures = figures
        self._ready.set()

    def close(self) -> None:
        """No more fragments; `run` returns once the queue is flushed."""
        self._closed = True
        self._ready.set()

    async def run(self) -> None:
        while True:
            if self._queue or self._figures:
                frame = Frame("".join(self._queue), self._figures)
                self._queue, self._figures = [], None
                await self._sink(frame)
                self.frames_sent += 1
                continue
            if self._closed:
                return
            self._ready.clear()
            await self._ready.wait()


__all__ = ["Frame", "Outbox", "Sink"]
