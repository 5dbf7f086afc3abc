"""The hub's line to the other workers: one control channel per process, on the channel layer.

Stop, attach and detach for a stream travel as messages to that stream's group; the worker
that runs the stream has its control channel in the group and acts on them (the hub's
`on_message`). Without a channel layer (one process, or `use_layer=False`) every call here
does nothing, and Stop reaches only this worker's streams, which are all of them.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Iterable
from typing import Any

from channels.layers import get_channel_layer

from .tasks import cancel_and_wait

logger = logging.getLogger("streamui.hub")

GROUP_PREFIX = "streamui-stream-"
OnMessage = Callable[[dict[str, Any]], None]


class ControlPlane:
    def __init__(self, on_message: OnMessage, *, use_layer: bool = True) -> None:
        self._on_message = on_message
        self._use_layer = use_layer
        self._channel: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def _layer(self) -> Any:
        return get_channel_layer() if self._use_layer else None

    async def ensure(self, running: Callable[[], Iterable[str]]) -> None:
        """Listen on this process's control channel (made once), in the group of every stream
        `running()` names."""
        if self._task is not None:
            return
        layer = self._layer()
        if layer is None:
            return
        async with self._lock:  # concurrent first starts: one control channel, made once
            if self._task is not None:
                return
            self._channel = await layer.new_channel("streamui-hub.")
            self._task = asyncio.create_task(self._listen(layer), name="streamui-hub-control",
                                             context=contextvars.Context())
        for stream_id in list(running()):  # starts go on while this awaits
            await layer.group_add(GROUP_PREFIX + stream_id, self._channel)

    async def _listen(self, layer: Any) -> None:
        assert self._channel is not None
        while True:
            try:
                message = await layer.receive(self._channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A Redis hiccup (channels_redis raises its client's TimeoutError) must not end
                # the one loop that hears Stop from other workers: log, pause, listen again.
                logger.exception("hub control channel: receive failed; listening again")
                await asyncio.sleep(0.5)
                continue
            self._on_message(message)

    async def send(self, stream_id: str, message: dict[str, Any]) -> None:
        """To whichever worker runs `stream_id` (and every other worker following it)."""
        layer = self._layer()
        if layer is not None:
            await layer.group_send(GROUP_PREFIX + stream_id, {**message, "stream": stream_id})

    async def join(self, stream_id: str) -> None:
        layer = self._layer()
        if layer is not None and self._channel is not None:
            await layer.group_add(GROUP_PREFIX + stream_id, self._channel)

    async def leave(self, stream_id: str) -> None:
        layer = self._layer()
        if layer is not None and self._channel is not None:
            await layer.group_discard(GROUP_PREFIX + stream_id, self._channel)

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None


__all__ = ["GROUP_PREFIX", "ControlPlane"]
