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
import dataclasses
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable

from channels.layers import get_channel_layer

from .generation import Generation, GenerationResult
from .journal import Entry, Journal, MemoryJournal, RedisJournal
from .outbox import Frame, Sink

logger = logging.getLogger("streamui.hub")

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
GROUP_PREFIX = "streamui-stream-"
RETAIN_SECONDS = 600.0  # how long a finished stream can still be replayed from memory

Finalize = Callable[[GenerationResult], Awaitable[Entry]]


class StreamAccessError(PermissionError):
    """The stream does not exist or belongs to someone else (indistinguishable on purpose)."""


@dataclass(slots=True)
class LiveStream:
    stream_id: str
    owner: str
    finalize: Finalize
    generation: Generation = field(init=False)
    task: asyncio.Task[None] | None = None
    local_followers: int = 0
    remote_followers: int = 0
    grace_timer: asyncio.TimerHandle | None = None
    seq: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def followers(self) -> int:
        return self.local_followers + self.remote_followers


class StreamHub:
    def __init__(self, journal: Journal, *, grace: Callable[[], float], lease: float = 30.0,
                 use_channel_layer: bool = True) -> None:
        self.journal = journal
        self._grace = grace
        self.lease = lease
        self.streams: dict[str, LiveStream] = {}
        self._use_layer = use_channel_layer
        self._control_channel: str | None = None
        self._control_task: asyncio.Task[None] | None = None
        self._lease_task: asyncio.Task[None] | None = None

    # --- running streams -------------------------------------------------------------

    async def start(self, *, stream_id: str, owner: str, generation: Callable[[Sink], Generation],
                    finalize: Finalize, meta: dict[str, str] | None = None) -> LiveStream:
        """Run a generation; `generation` builds it around the sink that journals its frames."""
        live = LiveStream(stream_id, owner, finalize)

        async def sink(frame: Frame) -> None:
            await self._append(live, Entry(seq=0, html=frame.html, figures=frame.figures))

        live.generation = generation(sink)
        self.streams[stream_id] = live
        await self.journal.set_meta(stream_id, {"owner": owner, "worker": WORKER_ID, **(meta or {})},
                                    ttl=self.lease)
        await self._append(live, Entry(seq=0, state="streaming"))
        await self._ensure_control()
        await self._join_group(stream_id)
        live.task = asyncio.create_task(self._run(live), name=f"streamui-stream-{stream_id}")
        return live

    async def _run(self, live: LiveStream) -> None:
        generation = live.generation
        try:
            result = await generation.run()
        except asyncio.CancelledError:
            result = generation.result()
        except Exception:
            # A bug must not leave the widget looking alive: record it and end the stream.
            logger.exception("stream %s: generation failed", live.stream_id)
            result = generation.result("error")
        try:
            final = await live.finalize(result)
            await self._append(live, final)
        except Exception:
            logger.exception("stream %s: could not record the end", live.stream_id)
            await self._append(live, Entry(seq=0, state="interrupted", error="The stream ended unexpectedly."))
        finally:
            self._cancel_grace(live)
            live.ended.set()
            await self._leave_group(live.stream_id)
            asyncio.get_running_loop().call_later(RETAIN_SECONDS, self._forget_local, live.stream_id)

    def _forget_local(self, stream_id: str) -> None:
        live = self.streams.get(stream_id)
        if live is not None and live.ended.is_set():
            del self.streams[stream_id]
            if isinstance(self.journal, MemoryJournal):
                asyncio.ensure_future(self.journal.forget(stream_id))

    async def _append(self, live: LiveStream, entry: Entry) -> None:
        live.seq += 1
        await self.journal.append(live.stream_id, dataclasses.replace(entry, seq=live.seq))

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

    async def follow(self, stream_id: str, owner: str, after: int = 0) -> AsyncIterator[Entry]:
        """The stream's entries after `after`, live, until its final entry. Counts as attached."""
        await self.check_owner(stream_id, owner)
        await self._attach(stream_id)
        try:
            async for entry in self.journal.follow(stream_id, after):
                yield entry
        finally:
            await self._detach(stream_id)

    async def _attach(self, stream_id: str) -> None:
        live = self.streams.get(stream_id)
        if live is not None:
            live.local_followers += 1
            self._cancel_grace(live)
        else:
            await self._group_send(stream_id, {"type": "streamui.attach"})

    async def _detach(self, stream_id: str) -> None:
        live = self.streams.get(stream_id)
        if live is not None:
            live.local_followers = max(0, live.local_followers - 1)
            self._maybe_grace(live)
        else:
            await self._group_send(stream_id, {"type": "streamui.detach"})

    def _maybe_grace(self, live: LiveStream) -> None:
        if live.followers or live.ended.is_set() or live.grace_timer is not None:
            return
        grace = self._grace()
        logger.info("stream %s: no client attached, cancelling in %.1f s unless one comes back",
                    live.stream_id, grace)
        live.grace_timer = asyncio.get_running_loop().call_later(grace, self._grace_expired, live)

    def _cancel_grace(self, live: LiveStream) -> None:
        if live.grace_timer is not None:
            live.grace_timer.cancel()
            live.grace_timer = None

    def _grace_expired(self, live: LiveStream) -> None:
        live.grace_timer = None
        if not live.followers:
            self._cancel(live, "disconnected")

    # --- stopping ------------------------------------------------------------------------

    async def stop(self, stream_id: str, owner: str, *, received_at: float | None = None) -> None:
        """Stop a stream from any worker; stopping one that already ended is harmless."""
        received_at = received_at or time.time()
        live = self.streams.get(stream_id)
        if live is not None and live.owner == owner:
            self._cancel(live, "stopped", received_at)  # before anything that awaits: the bill is running
            return
        await self.check_owner(stream_id, owner)
        await self._group_send(stream_id, {"type": "streamui.stop", "at": received_at})

    def _cancel(self, live: LiveStream, reason: str, received_at: float | None = None) -> None:
        if live.task is None or live.task.done() or live.ended.is_set():
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
        if not self._use_layer or self._control_task is not None:
            return
        layer = get_channel_layer()
        if layer is None:
            return
        self._control_channel = await layer.new_channel("streamui-hub.")
        self._control_task = asyncio.create_task(self._control_loop(layer), name="streamui-hub-control")
        self._lease_task = asyncio.create_task(self._lease_loop(), name="streamui-hub-lease")
        for stream_id in self.streams:
            await layer.group_add(GROUP_PREFIX + stream_id, self._control_channel)

    async def _control_loop(self, layer: Any) -> None:
        assert self._control_channel is not None
        while True:
            try:
                message = await layer.receive(self._control_channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A Redis hiccup (channels_redis raises its client's TimeoutError) must not end
                # the one loop that hears Stop from other workers: log, pause, listen again.
                logger.exception("hub control channel: receive failed; listening again")
                await asyncio.sleep(0.5)
                continue
            live = self.streams.get(str(message.get("stream", "")))
            if live is None:
                continue
            kind = message.get("type")
            if kind == "streamui.stop":
                self._cancel(live, "stopped", message.get("at"))
            elif kind == "streamui.attach":
                live.remote_followers += 1
                self._cancel_grace(live)
            elif kind == "streamui.detach":
                live.remote_followers = max(0, live.remote_followers - 1)
                self._maybe_grace(live)

    async def _lease_loop(self) -> None:
        # The journal's record of a running stream expires unless renewed: a follower on
        # another worker can tell a quiet stream from one whose worker died.
        while True:
            await asyncio.sleep(self.lease / 3)
            for live in list(self.streams.values()):
                if not live.ended.is_set():
                    meta = await self.journal.get_meta(live.stream_id) or {}
                    await self.journal.set_meta(live.stream_id, {**meta, "owner": live.owner, "worker": WORKER_ID},
                                                ttl=self.lease)

    async def _group_send(self, stream_id: str, message: dict[str, Any]) -> None:
        layer = get_channel_layer() if self._use_layer else None
        if layer is not None:
            await layer.group_send(GROUP_PREFIX + stream_id, {**message, "stream": stream_id})

    async def _join_group(self, stream_id: str) -> None:
        layer = get_channel_layer() if self._use_layer else None
        if layer is not None and self._control_channel is not None:
            await layer.group_add(GROUP_PREFIX + stream_id, self._control_channel)

    async def _leave_group(self, stream_id: str) -> None:
        layer = get_channel_layer() if self._use_layer else None
        if layer is not None and self._control_channel is not None:
            await layer.group_discard(GROUP_PREFIX + stream_id, self._control_channel)

    async def close(self) -> None:
        for task in (self._control_task, self._lease_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._control_task = self._lease_task = None


_hub: StreamHub | None = None


def get_hub() -> StreamHub:
    """This process's hub; the journal is Redis Streams when STREAMUI_REDIS_URL is set."""
    global _hub
    from .conf import get_settings

    if _hub is None:
        config = get_settings()
        journal: Journal = RedisJournal(config.redis_url) if config.redis_url else MemoryJournal()
        _hub = StreamHub(journal, grace=lambda: get_settings().disconnect_grace)
    return _hub


def reset_hub() -> None:
    """Forget the hub (tests that change the journal backend)."""
    global _hub
    _hub = None


__all__ = ["StreamHub", "LiveStream", "StreamAccessError", "get_hub", "reset_hub", "WORKER_ID"]
