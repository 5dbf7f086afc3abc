"""Where a stream's entries go: the journal, and with Redis a copy in this worker's memory first.

Streams this worker runs are also kept in memory, and their followers on this worker read them
there: with Redis, a follower of a local stream no longer holds a Redis connection in a blocking
read (redis-py's pool of 100 refused every stream past ~100 per process, and each read cost Redis
a command); followers on other workers read Redis as before. With the memory journal alone there
is nothing to mirror: it is both.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

from .hub_stream import Ending, LiveStream
from .journal import DEFAULT_MAX_ENTRIES, Entry, Journal, MemoryJournal
from .journal_writer import JournalBatcher
from .outbox import DirectSink, Frame, Sink

logger = logging.getLogger("streamui.hub")


class LocalFirstJournal:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.memory = journal if isinstance(journal, MemoryJournal) else MemoryJournal(
            max_entries=getattr(journal, "max_entries", DEFAULT_MAX_ENTRIES))
        self.mirrored = self.memory is not journal
        self.batcher = JournalBatcher(journal)  # every stream's writes to Redis, one round trip at a time
        self._compacting: set[asyncio.Future[None]] = set()
        self._forgetting: asyncio.Future[None] | None = None  # keeps the last forget task referenced

    def sinks(self, live: LiveStream, on_failure: Callable[[BaseException], None]) -> tuple[Sink, DirectSink]:
        """What `live`'s generation sends its frames to, awaited or not: each becomes the next entry."""
        if self.mirrored:
            # Each frame is in memory at once (this worker's followers read it there) and reaches
            # Redis with what every stream queued meanwhile, in one round trip (streamui.journal_writer).
            live.writer = self.batcher.writer(live.stream_id, on_failure)

        def direct(frame: Frame) -> None:
            if not live.failure:
                live.seq += 1
                entry = Entry(seq=live.seq, html=frame.html, figures=frame.figures)
                self.memory.append_now(live.stream_id, entry)
                if live.writer is not None:
                    live.writer.put(entry)

        async def sink(frame: Frame) -> None:  # the same, for a generation that awaits its sink
            direct(frame)

        return sink, direct

    async def append(self, live: LiveStream, entry: Entry) -> None:
        """Number `entry` as the stream's next and write it everywhere it goes."""
        live.seq += 1
        await self._append_numbered(live.stream_id, dataclasses.replace(entry, seq=live.seq))

    async def _append_numbered(self, stream_id: str, entry: Entry) -> None:
        if self.mirrored:
            # First: when Redis fails, this worker's followers still get the end (review 4.4).
            await self.memory.append(stream_id, entry)
        await self.journal.append(stream_id, entry)

    def reader(self, stream_id: str, *, runs_here: bool) -> Journal:
        """Where a follower on this worker reads the stream: memory if this worker runs it."""
        if self.mirrored and runs_here:
            return self.memory
        return self.journal

    async def append_final(self, live: LiveStream, ending: Ending, *, compact_after: float) -> None:
        """The stream's last entry, after every frame before it; if `ending` allows, the journal
        is compacted to the answer as stored `compact_after` seconds later."""
        if live.writer is not None:
            await live.writer.drain()  # every frame before the end, in order
        live.seq += 1
        final = live.final = dataclasses.replace(ending.final, seq=live.seq)
        try:
            await self._append_numbered(live.stream_id, final)
        except Exception:
            logger.error("stream %s: the journal did not take the final entry", live.stream_id)
            return
        if ending.compact and not live.failure:
            # Later, not now: a follower still sending the last frames must get them, not a
            # snapshot swapped over an answer it has not finished showing.
            asyncio.get_running_loop().call_later(compact_after, self._start_compact, live.stream_id,
                                                  dataclasses.replace(final, html="", whole=True, stored=True))

    async def close_writer(self, live: LiveStream) -> None:
        if live.writer is not None:
            await live.writer.close()
            live.writer = None

    def _start_compact(self, stream_id: str, snapshot: Entry) -> None:
        task = asyncio.ensure_future(self._compact(stream_id, snapshot))
        self._compacting.add(task)
        task.add_done_callback(self._compacting.discard)

    async def _compact(self, stream_id: str, snapshot: Entry) -> None:
        """Keep a finished stream, for resume, as its answer as stored: one entry, not every frame
        (issue 9: ~300 KB a finished stream before)."""
        try:
            if self.mirrored:
                await self.memory.compact(stream_id, snapshot)
            await self.journal.compact(stream_id, snapshot)
        except Exception:
            logger.warning("stream %s: could not compact the journal", stream_id, exc_info=True)

    async def drop_copy(self, stream_id: str) -> None:
        """A stream that could not start: memory keeps nothing of it."""
        if self.mirrored:
            await self.memory.forget(stream_id)

    def forget_soon(self, stream_id: str) -> None:
        # Redis keeps its own copy until its TTL; memory is this worker's to free.
        self._forgetting = asyncio.ensure_future(self.memory.forget(stream_id))


__all__ = ["LocalFirstJournal"]
