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
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from .admission import LocalAdmission, RedisAdmission, Slot
from .generation import Generation, GenerationResult
from .hub_control import ControlPlane
from .hub_follow import Followers
from .hub_grace import GraceClock
from .hub_journal import LocalFirstJournal
from .hub_lease import renew_leases
from .hub_persist import CheckpointSaver
from .hub_stream import (
    JOURNAL_FAILED,
    WORKER_ID,
    Checkpoint,
    Ending,
    Finalize,
    LiveStream,
    RenderStored,
    StreamAccessError,
    StreamStartError,
)
from .journal import Entry, Journal, MemoryJournal, entries_for
from .journal_redis import RedisJournal
from .memory import release_memory
from .outbox import DirectSink, Sink
from .tasks import cancel_and_wait
from .upstream.events import UpstreamError

logger = logging.getLogger("streamui.hub")

RETAIN_SECONDS = 120.0  # default of JOURNAL_RETAIN_SECONDS: a finished stream stays replayable this long
COMPACT_AFTER = 5.0  # seconds after its end a finished stream's journal becomes one snapshot entry
START_GRACE = 1.0  # seconds: the least a new stream waits for its first follower


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
        self._saver = CheckpointSaver(self.streams, persist_interval)
        self.compact_after = compact_after
        self._journals = LocalFirstJournal(journal)
        self._followers = Followers(self.streams, self._journals, self._control, self._grace_clock, self._cancel,
                                    lease=lease, render_stored=render_stored)

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

        def journal_failed(exc: BaseException) -> None:
            # The journal is gone (Redis stopped): nobody elsewhere can see what is generated, and a
            # resume could not either, so stop paying for it (review 4.4).
            logger.error("stream %s: journal append failed (%r); cancelling", stream_id, exc)
            live.failure = JOURNAL_FAILED
            self._cancel(live, "error")

        sink, direct = self._journals.sinks(live, journal_failed)
        live.generation = generation(sink, direct)
        # The stream's record, its first entry and its control group go out together: with Redis each
        # is a round trip, and on a busy process one took up to 250 ms, three in a row most of a
        # second before the upstream was even asked (deploy/LOAD.md, seventh round).
        record, first, _joined = await asyncio.gather(
            self.journal.set_meta(stream_id, {"owner": owner, "worker": WORKER_ID, **(meta or {})},
                                  ttl=self.lease),
            self._journals.append(live, Entry(seq=0, state="streaming")),
            self._join_control(stream_id),
            return_exceptions=True)
        failed = next((r for r in (record, first) if isinstance(r, BaseException)), None)
        if failed is not None:
            await self._journals.drop_copy(stream_id)
            with contextlib.suppress(Exception):  # joined alongside, best effort as the join was
                await self._control.leave(stream_id)
            raise StreamStartError(str(failed) or type(failed).__name__) from failed
        self.streams[stream_id] = live
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
            self._saver.ensure_running()
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
            await self._journals.append_final(live, ending, compact_after=self.compact_after)
        finally:
            self._grace_clock.stop(live)
            await self._journals.close_writer(live)
            live.generation = None  # the pipeline, the upstream's state and every buffer go now
            live.finalize = _ended
            live.task = None
            live.ended.set()
            await self.release(live.slot)
            live.slot = None
            with contextlib.suppress(Exception):
                await self._control.leave(live.stream_id)
            asyncio.get_running_loop().call_later(self.retain, self._forget_local, live.stream_id)

    def _forget_local(self, stream_id: str) -> None:
        live = self.streams.get(stream_id)
        if live is not None and live.ended.is_set():
            del self.streams[stream_id]
            self._journals.forget_soon(stream_id)
            if all(other.ended.is_set() for other in self.streams.values()):
                release_memory()  # the burst is over: give its memory back (review 6.5)

    # --- following (streamui.hub_follow) ----------------------------------------------------

    async def check_owner(self, stream_id: str, owner: str) -> dict[str, str]:
        return await self._followers.check_owner(stream_id, owner)

    def follow(self, stream_id: str, owner: str, after: int = 0) -> AsyncIterator[Entry]:
        """The stream's entries after `after`, live, until its final entry (`Followers.follow`)."""
        return self._followers.follow(stream_id, owner, after)

    async def replay(self, stream_id: str, after: int = 0) -> list[Entry]:
        """What the journal still holds after `after`, without waiting (a stream whose worker died)."""
        return await self._followers.replay(stream_id, after)

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
        return await live.wait_ended(timeout)

    def active_for(self, owner: str) -> int:
        return sum(1 for live in self.streams.values() if live.owner == owner and not live.ended.is_set())

    # --- the channel layer: stop and attach from other workers -------------------------

    async def _join_control(self, stream_id: str) -> None:
        """This worker hears Stop, attach and detach for the stream from every other worker (a message
        that comes before the stream is registered finds nothing: its id is not out yet)."""
        try:
            await self._ensure_control()
            await self._control.join(stream_id)
        except Exception:
            logger.warning("stream %s: channel layer unavailable; Stop works on this worker only", stream_id,
                           exc_info=True)

    async def _ensure_control(self) -> None:
        if self._lease_task is None:
            # Leases are renewed whether or not there is a channel layer: a stream's record that
            # lapses reads as a dead worker to every follower (review 4.2).
            self._lease_task = asyncio.create_task(
                renew_leases(self.streams, self.journal, self.admission, self.lease),
                name="streamui-hub-lease", context=contextvars.Context())
        await self._control.ensure(lambda: self.streams)

    def _on_control(self, message: dict[str, Any]) -> None:
        """Stop, attach or detach from another worker, for a stream this one runs."""
        live = self.streams.get(str(message.get("stream", "")))
        if live is None:
            return
        if message.get("type") == "streamui.stop":
            self._cancel(live, "stopped", message.get("at"))
        else:
            self._followers.on_control(live, message)

    async def close(self) -> None:
        await self._control.close()
        await self._journals.batcher.close()
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


async def _ended(result: GenerationResult) -> Ending:
    raise RuntimeError("this stream has already ended")


__all__ = ["JOURNAL_FAILED", "WORKER_ID", "Checkpoint", "Ending", "Finalize", "LiveStream", "RenderStored",
           "StreamAccessError", "StreamHub", "StreamStartError", "get_hub", "reset_hub"]
