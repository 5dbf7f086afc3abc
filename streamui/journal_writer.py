"""A stream's entries written to a shared journal (Redis) behind the worker's memory copy: in
order, whatever queued meanwhile in one round trip.

With Redis, the followers on the worker that runs a stream read it from memory (streamui.hub),
so an entry is shown once it is in memory; Redis serves followers on other workers and a resume
after this worker died. Before this, every frame awaited its XADD through the generation's
sender, and under load the sender merged the frames that queued meanwhile into one entry, which
the wire could no longer send compactly (2.05x and 3.59x the answer's HTML with one and two
processes, deploy/LOAD.md). Now each frame is its own entry at once, and the writer sends the
queue as one pipeline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .journal import Entry, Journal
from .tasks import cancel_and_wait


class JournalWriter:
    def __init__(self, journal: Journal, stream_id: str, on_failure: Callable[[BaseException], None]) -> None:
        self._journal = journal
        self._stream_id = stream_id
        self._on_failure = on_failure
        self._queue: list[Entry] = []
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.failed: BaseException | None = None

    def put(self, entry: Entry) -> None:
        if self.failed is not None:
            return  # the journal is gone; the hub has cancelled the stream
        self._queue.append(entry)
        self._idle.clear()
        self._ready.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"streamui-journal-{self._stream_id}")

    async def drain(self) -> None:
        """Return once everything put so far is written (or the journal failed)."""
        await self._idle.wait()

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        self._idle.set()

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            batch, self._queue = self._queue, []
            if batch:
                try:
                    await self._journal.append_many(self._stream_id, batch)
                except Exception as exc:
                    self.failed = exc
                    self._queue = []
                    self._idle.set()
                    self._on_failure(exc)
                    return
            if not self._queue:
                self._idle.set()


__all__ = ["JournalWriter"]
