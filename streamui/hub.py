"""The streams this process runs, and the way to reach streams other processes run.

A stream outlives the socket that started it. Its generation runs in a task owned by
the hub, writes every frame to the stream's journal, and ends when the upstream ends,
when someone stops it, or when no client has been attached for the grace period
(a closed tab or a dropped socket: the user may come back, so the model runs on a
little, then the upstream request is cancelled).

Transports never touch a generation: they `follow` the journal from the last
sequence number they saw (a refresh replays from 0, a reconnect from where it broke)
and `stop` by id. Stop and attachments reach the owning worker through the channel
layer, so with Redis they work from any process.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .admission import LocalAdmission, RedisAdmission, Slot
from .generation import Generation, GenerationResult
from .hub_control import ControlPlane
from .hub_grace import GraceClock
from .journal import DEFAULT_MAX_ENTRIES, Entry, Journal, MemoryJournal, RedisJournal, entries_for
from .journal_writer import JournalWriter
from .memory import release_memory
from .outbox import DirectSink, Frame, Sink
from .tasks import cancel_and_wait
from .upstream.events import UpstreamError

logger = logging.getLogger("streamui.hub")

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
RETAIN_SECONDS = 120.0  # default of JOURNAL_RETAIN_SECONDS: a finished stream stays replayable this long
COMPACT_AFTER = 5.0  # seconds after its end a finished stream's journal becomes one snapshot entry
START_GRACE = 1.0  # seconds: the least a new stream waits for its first follower
JOURNAL_FAILED = "The server lost its connection to the stream's journal (Redis)."


@dataclass(frozen=True, slots=True)
class Ending:
    """What `Finalize` gives back: the final entry followers get, and whether the journal may be
    compacted to the answer as stored (`Entry.stored`) once the last followers are through."""

    final: Entry
    compact: bool = False


Finalize = Callable[[GenerationResult], Awaitable[Ending]]
Checkpoint = Callable[[Generation], Awaitable[None]]
RenderStored = Callable[[str], Awaitable[str]]  # stream id -> the answer as stored, as HTML replacing it whole


class StreamStartError(RuntimeError):
    """The stream could not be started (e.g. the journal is unreachable); nothing is left running."""


class StreamAccessError(PermissionError):
    """The stream does not exist or belongs to someone else (indistinguishable on purpose)."""


@dataclass(slots=True)
class LiveStream:
    stream_id: str
    owner: str
    finalize: Finalize
    generation: Generation | None = field(init=False)  # None once ended: a finished stream keeps no state
    task: asyncio.Task[None] | None = None
    local_followers: int = 0
    # Followers on other workers, each a lease (loop time it expires) renewed by their worker:
    # a follower whose worker died stops counting after one lease (review 5.8).
    remote: dict[str, float] = field(default_factory=dict)
    grace_timer: asyncio.TimerHandle | None = None
    seq: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    checkpoint: Checkpoint | None = None
    slot: Slot | None = None
    retry: str = ""  # the prompt, for the Retry button when the stream fails
    failure: str = ""  # why the hub itself ended the stream (the journal failed)
    final: Entry | None = None  # the last entry, kept here too in case the journal cannot take it
    writer: JournalWriter | None = None  # with Redis: this stream's entries on their way there

    @property
    def remote_followers(self) -> int:
        now = asyncio.get_running_loop().time()
        for token in [t for t, until in self.remote.items() if until < now]:
            del self.remote[token]
        return len(self.remote)

    @property
    def followers(self) -> int:
        return self.local_followers + self.remote_followers


class StreamHub:
    def __init__(self, journal: Journal, *, grace: Callable[[], float], lease: float = 6.0,
                 use_channel_layer: bool = True, retain: float = RETAIN_SECONDS,
                 persist_interval: float = 1.0, admission: LocalAdmission | RedisAdmission | None = None,
                 compact_after: float = COMPACT_AFTER, render_stored: RenderStored | None = None) -> None:
        self.journal = journal
        self.render_stored = render_stored
        self._grace_clock = GraceClock(grace, self._cancel)
        self.lease = lease
        self.retain = retain
        self.persist_interval = persist_interval
        self.admission = admission or LocalAdmission()
        self.streams: dict[str, LiveStream] = {}
        self._control = ControlPlane(self._on_control, use_layer=use_channel_layer)
        self._lease_task: asyncio.Task[None] | None = None
        self._forgetting: asyncio.Future[None] | None = None  # keeps the last forget task referenced
        self._saver: asyncio.Task[None] | None = None  # the one checkpoint loop of every running stream
        self.compact_after = compact_after
        # Streams this worker runs are also kept here, and their followers on this worker read them
        # from memory: with Redis, a follower of a local stream no longer holds a Redis connection in
        # a blocking read (redis-py's pool of 100 refused every stream past ~100 per process, and each
        # read cost Redis a command); followers on other workers read Redis as before.
        self._memory = journal if isinstance(journal, MemoryJournal) else MemoryJournal(
            max_entries=getattr(journal, "max_entries", DEFAULT_MAX_ENTRIES))
        self._mirrored = self._memory is not journal
        self._compacting: set[asyncio.Future[None]] = set()

    # --- admission -----------------------------------------------------------------------

    async def admit(self, stream_id: str, limits: list[tuple[str, str, int]]) -> Slot:
        """Take a slot for a stream about to start; AdmissionRefused says which limit."""
        if isinstance(self.admission, LocalAdmission):
            return self.admission.take(stream_id, limits)
        return await self.admission.take(stream_id, limits)

    async def release(self, slot: Slot | None) -> None:
        if slot is None:
            return
        try:
            if isinstance(self.admission, LocalAdmission):
                self.admission.release(slot)
            else:
                await self.admission.release(slot)
        except Exception:
            # Redis down: the slot's lease expires on its own.
            logger.warning("could not release admission slot %s", slot.holder, exc_info=True)

    # --- running streams -------------------------------------------------------------

    async def start(self, *, stream_id: str, owner: str,
                    generation: Callable[[Sink, DirectSink | None], Generation],
                    finalize: Finalize, meta: dict[str, str] | None = None, checkpoint: Checkpoint | None = None,
                    slot: Slot | None = None, retry: str = "") -> LiveStream:
        """Run a generation; `generation` builds it around the sink that journals its frames.

        Registered only once the journal took the stream's record: a start that fails
        (StreamStartError) leaves nothing behind (review 4.6)."""
        live = LiveStream(stream_id, owner, finalize, checkpoint=checkpoint, slot=slot, retry=retry)

        def direct(frame: Frame) -> None:
            if not live.failure:
                entry = self._append_now(live, Entry(seq=0, html=frame.html, figures=frame.figures))
                if live.writer is not None:
                    live.writer.put(entry)

        async def sink(frame: Frame) -> None:  # the same, for a generation that awaits its sink
            direct(frame)

        def journal_failed(exc: BaseException) -> None:
            # The journal is gone (Redis stopped): nobody elsewhere can see what is generated, and a
            # resume could not either, so stop paying for it (review 4.4).
            logger.error("stream %s: journal append failed (%r); cancelling", stream_id, exc)
            live.failure = JOURNAL_FAILED
            self._cancel(live, "error")

        if self._mirrored:
            # Each frame is in memory at once (this worker's followers read it there) and reaches
            # Redis with the others queued meanwhile, in one round trip (streamui.journal_writer).
            live.writer = JournalWriter(self.journal, stream_id, journal_failed)
        live.generation = generation(sink, direct)
        try:
            await self.journal.set_meta(stream_id, {"owner": owner, "worker": WORKER_ID, **(meta or {})},
                                        ttl=self.lease)
            await self._append(live, Entry(seq=0, state="streaming"))
        except Exception as exc:
            if self._mirrored:
                await self._memory.forget(stream_id)
            raise StreamStartError(str(exc) or type(exc).__name__) from exc
        self.streams[stream_id] = live
        try:
            await self._ensure_control()
            await self._control.join(stream_id)
        except Exception:
            logger.warning("stream %s: channel layer unavailable; Stop works on this worker only", stream_id,
                           exc_info=True)
        # A fresh context: a task created inside a request must not inherit (and keep alive) that
        # request's thread-sensitive executor and its database connection (review 6.4).
        live.task = asyncio.create_task(self._run(live), name=f"streamui-stream-{stream_id}",
                                        context=contextvars.Context())
        # The grace clock runs until someone follows: a stream nobody opens is cancelled (review 5.6).
        # At least START_GRACE, so the transport that started it has time to attach.
        self._grace_clock.start(live, minimum=START_GRACE)
        return live

    async def _run(self, live: LiveStream) -> None:
        generation = live.generation
        assert generation is not None
        if live.checkpoint is not None:
            self._ensure_saver()
        try:
            result = await generation.run()
        except asyncio.CancelledError:
            result = generation.result()
        except Exception:
            # A bug must not leave the widget looking alive: record it and end the stream.
            logger.exception("stream %s: generation failed", live.stream_id)
            result = generation.result("error")
        live.checkpoint = None  # the end is recorded next: no checkpoint may follow it
        if live.failure:
            result = dataclasses.replace(result, end_reason="error",
                                         error=result.error or UpstreamError(live.failure, kind="internal"))
        try:
            try:
                ending = await live.finalize(result)
            except Exception:
                logger.exception("stream %s: could not record the end", live.stream_id)
                ending = Ending(Entry(seq=0, state="interrupted", error="The stream ended unexpectedly.",
                                      retry=live.retry))
            if live.writer is not None:
                await live.writer.drain()  # every frame before the end, in order
            live.seq += 1
            final = live.final = dataclasses.replace(ending.final, seq=live.seq)
            try:
                await self._append_entry(live.stream_id, final)
            except Exception:
                logger.error("stream %s: the journal did not take the final entry", live.stream_id)
            else:
                if ending.compact and not live.failure:
                    # Later, not now: a follower still sending the last frames must get them, not a
                    # snapshot swapped over an answer it has not finished showing.
                    asyncio.get_running_loop().call_later(self.compact_after, self._start_compact, live.stream_id,
                                                          dataclasses.replace(final, html="", whole=True,
                                                                              stored=True))
        finally:
            self._grace_clock.stop(live)
            if live.writer is not None:
                await live.writer.close()
                live.writer = None
            live.generation = None  # the pipeline, the upstream's state and every buffer go now
            live.finalize = _ended
            live.task = None
            live.ended.set()
            await self.release(live.slot)
            live.slot = None
            with contextlib.suppress(Exception):
                await self._control.leave(live.stream_id)
            asyncio.get_running_loop().call_later(self.retain, self._forget_local, live.stream_id)

    def _start_compact(self, stream_id: str, snapshot: Entry) -> None:
        task = asyncio.ensure_future(self._compact(stream_id, snapshot))
        self._compacting.add(task)
        task.add_done_callback(self._compacting.discard)

    async def _compact(self, stream_id: str, snapshot: Entry) -> None:
        """Keep a finished stream, for resume, as its answer as stored: one entry, not every frame
        (issue 9: ~300 KB a finished stream before)."""
        try:
            if self._mirrored:
                await self._memory.compact(stream_id, snapshot)
            await self.journal.compact(stream_id, snapshot)
        except Exception:
            logger.warning("stream %s: could not compact the journal", stream_id, exc_info=True)

    def _ensure_saver(self) -> None:
        if self._saver is None or self._saver.done():
            self._saver = asyncio.create_task(self._persist_loop(), name="streamui-persist",
                                              context=contextvars.Context())

    async def _persist_loop(self) -> None:
        # The shown answer reaches the database at least every `persist_interval` seconds, so a
        # worker killed mid-stream loses at most that much of what the user saw (review 4.1).
        # One loop for every stream of the process, and their writes in one group commit (issue 9):
        # a timer, a thread hop and a commit per stream per second kept a thousand streams queued.
        while True:
            await asyncio.sleep(self.persist_interval)
            running = [(live, live.checkpoint, live.generation) for live in self.streams.values()
                       if live.checkpoint is not None and live.generation is not None]
            if not running:
                self._saver = None
                return
            outcomes = await asyncio.gather(*(save(generation) for _live, save, generation in running),
                                            return_exceptions=True)
            for (live, _save, _generation), outcome in zip(running, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    logger.warning("stream %s: checkpoint failed (%r)", live.stream_id, outcome)

    def _forget_local(self, stream_id: str) -> None:
        live = self.streams.get(stream_id)
        if live is not None and live.ended.is_set():
            del self.streams[stream_id]
            # Redis keeps its own copy until its TTL; memory is this worker's to free.
            self._forgetting = asyncio.ensure_future(self._memory.forget(stream_id))
            if all(other.ended.is_set() for other in self.streams.values()):
                release_memory()  # the burst is over: give its memory back (review 6.5)

    async def _append(self, live: LiveStream, entry: Entry) -> None:
        if not self._mirrored:
            self._append_now(live, entry)
            return
        live.seq += 1
        await self._append_entry(live.stream_id, dataclasses.replace(entry, seq=live.seq))

    def _append_now(self, live: LiveStream, entry: Entry) -> Entry:
        """`_append` into the in-process journal, which takes an entry without waiting."""
        live.seq += 1
        numbered = dataclasses.replace(entry, seq=live.seq)
        self._memory.append_now(live.stream_id, numbered)
        return numbered

    async def _append_entry(self, stream_id: str, entry: Entry) -> None:
        if self._mirrored:
            # First: when Redis fails, this worker's followers still get the end (review 4.4).
            await self._memory.append(stream_id, entry)
        await self.journal.append(stream_id, entry)

    def _journal_of(self, stream_id: str) -> Journal:
        """Where a follower on this worker reads the stream: memory if this worker runs it."""
        if self._mirrored and stream_id in self.streams:
            return self._memory
        return self.journal

    # --- following ---------------------------------------------------------------------

    async def check_owner(self, stream_id: str, owner: str) -> dict[str, str]:
        live = self.streams.get(stream_id)
        if live is not None:
            if live.owner != owner:
                raise StreamAccessError(stream_id)
            return {"owner": owner, "worker": WORKER_ID}
        meta = await self.journal.get_meta(stream_id)
        if meta is None or meta.get("owner") != owner:
            raise StreamAccessError(stream_id)
        return meta

    async def _alive(self, stream_id: str) -> bool:
        live = self.streams.get(stream_id)
        if live is not None:
            return True
        return await self.journal.get_meta(stream_id) is not None

    async def follow(self, stream_id: str, owner: str, after: int = 0) -> AsyncIterator[Entry]:
        """The stream's entries after `after`, live, until its final entry. Counts as attached.

        Ends without a final entry when the owning worker is known dead (its lease expired):
        the transport then records the stream as interrupted (review 4.2). When the journal
        itself fails, a stream this worker runs is cancelled and its final entry comes from
        memory (review 4.4)."""
        await self.check_owner(stream_id, owner)
        token = await self._attach(stream_id)
        heartbeat = None if token is None else asyncio.create_task(self._heartbeat(stream_id, token))
        last = after
        try:
            async for entry in self._journal_of(stream_id).follow(stream_id, after,
                                                                   alive=lambda: self._alive(stream_id)):
                last = entry.seq
                yield await self._resolved(stream_id, entry) if entry.stored else entry
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.error("stream %s: following the journal failed (%r)", stream_id, exc)
            live = self.streams.get(stream_id)
            if live is not None:
                live.failure = live.failure or JOURNAL_FAILED
                self._cancel(live, "error")
                await self.wait_ended(stream_id, 10)
            final = live.final if live is not None and live.final is not None else None
            yield dataclasses.replace(final, seq=max(final.seq, last + 1)) if final else Entry(
                seq=last + 1, state="interrupted", error=JOURNAL_FAILED,
                retry=live.retry if live is not None else "")
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
            with contextlib.suppress(Exception):
                await self._detach(stream_id, token)

    async def replay(self, stream_id: str, after: int = 0) -> list[Entry]:
        """What the journal still holds after `after`, without waiting (a stream whose worker died)."""
        entries: list[Entry] = []
        async for entry in self.journal.follow(stream_id, after, alive=_dead, wait=False):
            entries.append(await self._resolved(stream_id, entry))
        return entries

    async def _resolved(self, stream_id: str, entry: Entry) -> Entry:
        """A `stored` snapshot with its HTML: the answer rendered from where it is stored."""
        if not entry.stored or self.render_stored is None:
            return entry
        try:
            html = await self.render_stored(stream_id)
        except Exception:
            logger.warning("stream %s: could not render the stored answer", stream_id, exc_info=True)
            html = ""
        return dataclasses.replace(entry, html=html or entry.html, stored=False)

    async def _attach(self, stream_id: str) -> str | None:
        live = self.streams.get(stream_id)
        if live is not None:
            live.local_followers += 1
            self._grace_clock.stop(live)
            return None
        token = secrets.token_hex(8)
        await self._control.send(stream_id, {"type": "streamui.attach", "token": token, "lease": self.lease})
        return token

    async def _heartbeat(self, stream_id: str, token: str) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            with contextlib.suppress(Exception):
                await self._control.send(stream_id, {"type": "streamui.attach", "token": token, "lease": self.lease})

    async def _detach(self, stream_id: str, token: str | None) -> None:
        live = self.streams.get(stream_id)
        if live is not None and token is None:
            live.local_followers = max(0, live.local_followers - 1)
            self._grace_clock.start(live)
        elif token is not None:
            await self._control.send(stream_id, {"type": "streamui.detach", "token": token})

    # --- stopping ------------------------------------------------------------------------

    async def stop(self, stream_id: str, owner: str, *, received_at: float | None = None) -> None:
        """Stop a stream from any worker; stopping one that already ended is harmless."""
        received_at = received_at or time.time()
        live = self.streams.get(stream_id)
        if live is not None and live.owner == owner:
            self._cancel(live, "stopped", received_at)  # before anything that awaits: the bill is running
            return
        await self.check_owner(stream_id, owner)
        await self._control.send(stream_id, {"type": "streamui.stop", "at": received_at})

    def _cancel(self, live: LiveStream, reason: str, received_at: float | None = None) -> None:
        if live.task is None or live.task.done() or live.ended.is_set() or live.generation is None:
            return
        if received_at is not None and live.generation.stop_received_at is None:
            live.generation.stop_received_at = received_at
        logger.info("stream %s: cancelling (%s)", live.stream_id, reason)
        live.generation.cancel_reason = reason
        live.task.cancel()

    async def wait_ended(self, stream_id: str, timeout: float) -> bool:
        live = self.streams.get(stream_id)
        if live is None:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(live.ended.wait(), timeout)
        return live.ended.is_set()

    def active_for(self, owner: str) -> int:
        return sum(1 for live in self.streams.values() if live.owner == owner and not live.ended.is_set())

    # --- the channel layer: stop and attach from other workers -------------------------

    async def _ensure_control(self) -> None:
        if self._lease_task is None:
            # Leases are renewed whether or not there is a channel layer: a stream's record that
            # lapses reads as a dead worker to every follower (review 4.2).
            self._lease_task = asyncio.create_task(self._lease_loop(), name="streamui-hub-lease",
                                                   context=contextvars.Context())
        await self._control.ensure(lambda: self.streams)

    def _on_control(self, message: dict[str, Any]) -> None:
        """Stop, attach or detach from another worker, for a stream this one runs."""
        live = self.streams.get(str(message.get("stream", "")))
        if live is None:
            return
        kind = message.get("type")
        if kind == "streamui.stop":
            self._cancel(live, "stopped", message.get("at"))
        elif kind == "streamui.attach":
            lease = float(message.get("lease") or self.lease)
            live.remote[str(message.get("token", ""))] = asyncio.get_running_loop().time() + lease
            self._grace_clock.remote_attached(live)
        elif kind == "streamui.detach":
            live.remote.pop(str(message.get("token", "")), None)
            self._grace_clock.remote_detached(live)

    async def _lease_loop(self) -> None:
        # The journal's record of a running stream expires unless renewed: a follower on
        # another worker can tell a quiet stream from one whose worker died.
        while True:
            await asyncio.sleep(self.lease / 3)
            for live in list(self.streams.values()):
                if live.ended.is_set():
                    continue
                try:
                    meta = await self.journal.get_meta(live.stream_id) or {}
                    await self.journal.set_meta(live.stream_id, {**meta, "owner": live.owner, "worker": WORKER_ID},
                                                ttl=self.lease)
                    if live.slot is not None and isinstance(self.admission, RedisAdmission):
                        await self.admission.renew(live.slot)
                except Exception:
                    logger.warning("stream %s: lease renewal failed", live.stream_id, exc_info=True)

    async def close(self) -> None:
        await self._control.close()
        await cancel_and_wait(self._lease_task)
        self._lease_task = None


_hub: StreamHub | None = None


def get_hub() -> StreamHub:
    """This process's hub; the journal is Redis Streams when STREAMUI_REDIS_URL is set."""
    global _hub
    from .conf import get_settings

    if _hub is None:
        config = get_settings()
        lease = float(config.stream_lease)
        journal: Journal
        admission: LocalAdmission | RedisAdmission
        cap = entries_for(int(config.max_answer_chars))
        if config.redis_url:
            redis_journal = RedisJournal(config.redis_url, block_ms=int(lease * 1000 / 3), max_entries=cap)
            journal, admission = redis_journal, RedisAdmission(redis_journal.client, lease=lease)
        else:
            journal, admission = MemoryJournal(max_entries=cap), LocalAdmission()
        from .stream_end import render_stored  # the database side of the hub: imported when it is built

        _hub = StreamHub(journal, grace=lambda: float(get_settings().disconnect_grace), lease=lease,
                         retain=float(config.journal_retain_seconds),
                         persist_interval=float(config.persist_interval), admission=admission,
                         render_stored=render_stored)
    return _hub


def reset_hub() -> None:
    """Forget the hub (tests that change the journal backend)."""
    global _hub
    _hub = None


async def _dead() -> bool:
    return False


async def _ended(result: GenerationResult) -> Ending:
    raise RuntimeError("this stream has already ended")


__all__ = [
    "JOURNAL_FAILED",
    "WORKER_ID",
    "Ending",
    "LiveStream",
    "StreamAccessError",
    "StreamHub",
    "StreamStartError",
    "get_hub",
    "reset_hub",
]
