"""Every stream's entries written to a shared journal (Redis) behind the worker's memory copy: in
order, and whatever queued meanwhile, from every stream of the process, in one round trip.

With Redis, the followers on the worker that runs a stream read it from memory (streamui.hub),
so an entry is shown once it is in memory; Redis serves followers on other workers and a resume
after this worker died. Before the sixth round, every frame awaited its XADD through the
generation's sender, and under load the sender merged the frames that queued meanwhile into one
entry, which the wire could no longer send compactly (2.05x and 3.59x the answer's HTML with one
and two processes, deploy/LOAD.md). Each frame is its own entry at once, and a writer sends the
queue as one pipeline.

Until the seventh round each stream had a writer task and a pipeline of its own: a hundred streams
at 25 frames a second sent 2,500 pipelines a second, and redis-py's cost per pipeline (the
connection's timeout scope, its health check, the pool) was a fifth of the process. One
`JournalBatcher` per process now sends one pipeline at a time for all streams; a stream's
`JournalWriter` is its handle on it. A stream whose write fails (its command, or the whole round
trip) is told so and writes no more; the others go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .journal import Entry, Journal
from .tasks import cancel_and_wait


class JournalWriter:
    """One stream's entries, in order, through the process's batcher."""

    def __init__(self, batcher: JournalBatcher, stream_id: str, on_failure: Callable[[BaseException], None]) -> None:
        self.stream_id = stream_id
        self._batcher = batcher
        self._on_failure = on_failure
        self._idle = asyncio.Event()
        self._idle.set()
        self.failed: BaseException | None = None

    def put(self, entry: Entry) -> None:
        if self.failed is not None:
            return  # the journal is gone; the hub has cancelled the stream
        self._idle.clear()
        self._batcher.put(self, entry)

    async def drain(self) -> None:
        """Return once everything put so far is written (or the journal failed)."""
        await self._idle.wait()

    async def close(self) -> None:
        self._batcher.forget(self)
        self._idle.set()

    def written(self) -> None:
        self._idle.set()

    def fail(self, exc: BaseException) -> None:
        self.failed = exc
        self._idle.set()
        self._on_failure(exc)


class JournalBatcher:
    """The process's writes to the shared journal: one round trip at a time, every stream's queue in it."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._queues: dict[str, list[Entry]] = {}
        self._writers: dict[str, JournalWriter] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def writer(self, stream_id: str, on_failure: Callable[[BaseException], None]) -> JournalWriter:
        writer = JournalWriter(self, stream_id, on_failure)
        self._writers[stream_id] = writer
        return writer

    def put(self, writer: JournalWriter, entry: Entry) -> None:
        self._queues.setdefault(writer.stream_id, []).append(entry)
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests run one each): a new task and event on it
            self._loop, self._ready, self._task = loop, asyncio.Event(), None
        self._ready.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="streamui-journal-writer")

    def forget(self, writer: JournalWriter) -> None:
        if self._writers.get(writer.stream_id) is writer:
            del self._writers[writer.stream_id]
            self._queues.pop(writer.stream_id, None)

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            batch, self._queues = self._queues, {}
            if not batch:
                continue
            try:
                failed = await self._journal.append_streams(batch)
            except Exception as exc:  # the round trip itself: every stream in it
                failed = dict.fromkeys(batch, exc)
            for stream_id in batch:
                writer = self._writers.get(stream_id)
                if writer is None:
                    continue
                error = failed.get(stream_id)
                if error is not None:
                    self.forget(writer)
                    writer.fail(error)
                elif stream_id not in self._queues:
                    writer.written()


__all__ = ["JournalBatcher", "JournalWriter"]
