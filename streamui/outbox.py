"""One ordered channel of fragments per stream.

Every producer (the pacers, reasoning, JSON widgets, tool calls) puts fragments here
without awaiting; one sender coroutine hands them to the transport in order. Several
fragments put in the same step of the event loop go out as one frame, so a frozen
markdown block and the tail it leaves behind are swapped together.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

Send = Callable[[str], Awaitable[None]]


class Outbox:
    def __init__(self, send: Send) -> None:
        self._send = send
        self._queue: list[str] = []
        self._ready = asyncio.Event()
        self._closed = False
        self.frames_sent = 0

    def put(self, *fragments: str) -> None:
        if self._closed:
            raise RuntimeError("outbox closed")
        self._queue.extend(f for f in fragments if f)
        if self._queue:
            self._ready.set()

    def close(self) -> None:
        """No more fragments; `run` returns once the queue is flushed."""
        self._closed = True
        self._ready.set()

    async def run(self) -> None:
        while True:
            if self._queue:
                frame, self._queue = "".join(self._queue), []
                await self._send(frame)
                self.frames_sent += 1
                continue
            if self._closed:
                return
            self._ready.clear()
            await self._ready.wait()


__all__ = ["Outbox", "Send"]
