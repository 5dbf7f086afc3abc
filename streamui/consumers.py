"""The WebSocket transport: one ChatConsumer per open widget.

The consumer starts streams and follows their journals; it never owns a generation
(the hub does), so a closed tab, a refresh or a worker hop loses nothing: the widget
reattaches with `resume` and the journal replays from its last sequence number.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from . import fragments
from .conf import get_settings
from .conversations import Owner, anew_conversation
from .hub import StreamAccessError, get_hub
from .models import StreamRecord
from .observability import log_stream_event
from .protocol import ClientMessage, ProtocolError, parse_message
from .streams import close_orphaned, owner_key, render_entry, start_stream

logger = logging.getLogger("streamui.consumer")


class ChatConsumer(AsyncWebsocketConsumer):
    # No channel-layer channel per socket: cross-worker messages go to the hub, so a socket
    # costs no Redis listener (with channels_redis each one would block on Redis).
    channel_layer_alias = None

    widget_id: str
    owner: Owner | None
    stream_id: str | None
    follower: asyncio.Task[None] | None

    async def connect(self) -> None:
        self.widget_id = self.scope["url_route"]["kwargs"]["widget_id"]
        self.owner = Owner.from_scope(self.scope)
        self.stream_id = None
        self.follower = None
        await self.accept()
        if self.owner is None:
            await self._send_error("Your session has expired: reload the page to chat.")

    async def disconnect(self, code: int) -> None:
        # Only stop following: the hub keeps the stream alive for the grace period.
        await self._unfollow()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        config = get_settings()
        try:
            message = parse_message(
                text_data if text_data is not None else bytes_data,
                max_bytes=config.max_message_bytes,
                max_prompt_chars=config.max_prompt_chars,
            )
            if self.owner is None:
                raise ProtocolError("Your session has expired: reload the page to chat.")
            await self._dispatch(message)
        except ProtocolError as exc:
            logger.info("widget %s: rejected message: %s", self.widget_id, exc)
            await self._send_error(str(exc))

    async def _dispatch(self, message: ClientMessage) -> None:
        assert self.owner is not None
        if message.action == "send":
            if self.follower is not None and not self.follower.done():
                raise ProtocolError("A reply is still streaming: stop it first.")
            started = await start_stream(self.owner, message)
            await self._send(
                fragments.clear_error(self.widget_id),
                fragments.conversation_input(self.widget_id, str(started.conversation.public_id)),
                fragments.append_to_log(self.widget_id, started.turn_html()),
            )
            await self._follow(started.stream_id, after=0)
        elif message.action == "stop":
            stream_id = message.stream or self.stream_id
            if stream_id:
                await self._stop(stream_id)
        elif message.action == "resume":
            await self._follow(message.stream, after=message.after)
        elif message.action == "new":
            if self.follower is not None and not self.follower.done():
                raise ProtocolError("A reply is still streaming: stop it first.")
            conversation = await anew_conversation(self.owner)
            await self._send(fragments.clear_log(self.widget_id), fragments.clear_error(self.widget_id),
                             fragments.conversation_input(self.widget_id, str(conversation.public_id)),
                             fragments.status(self.widget_id, "idle"))
        elif message.action == "timing":
            await self._client_timing(message)

    async def _stop(self, stream_id: str) -> None:
        assert self.owner is not None
        try:
            await get_hub().stop(stream_id, owner_key(self.owner), received_at=time.time())
        except StreamAccessError:
            raise ProtocolError("unknown stream") from None
        log_stream_event("stop_requested", stream_id, widget=self.widget_id)

    # --- following a stream's journal -------------------------------------------------

    async def _follow(self, stream_id: str, *, after: int) -> None:
        assert self.owner is not None
        await self._unfollow()
        hub = get_hub()
        try:
            await hub.check_owner(stream_id, owner_key(self.owner))
        except StreamAccessError:
            orphan = await close_orphaned(stream_id, self.owner)
            if orphan is None:
                raise ProtocolError("unknown stream") from None
            await self._send(render_entry(orphan, self.widget_id, stream_id))
            return
        if after:
            log_stream_event("resume", stream_id, widget=self.widget_id, after=after)
        self.stream_id = stream_id
        self.follower = asyncio.create_task(self._forward(stream_id, after), name=f"streamui-follow-{stream_id}")

    async def _forward(self, stream_id: str, after: int) -> None:
        assert self.owner is not None
        try:
            async for entry in get_hub().follow(stream_id, owner_key(self.owner), after):
                frame = render_entry(entry, self.widget_id, stream_id)
                # Journal frames carry `seq`, which the widget keeps for resuming.
                await self.send(text_data=json.dumps({"content": frame, "seq": entry.seq, "stream": stream_id}))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("widget %s: following stream %s failed", self.widget_id, stream_id)

    async def _unfollow(self) -> None:
        if self.follower is not None and not self.follower.done():
            self.follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.follower
        self.follower = None

    async def _client_timing(self, msg: ClientMessage) -> None:
        if not msg.stream or msg.timings is None:
            raise ProtocolError("timing needs a stream id and an object of timings")
        assert self.owner is not None
        updated = await StreamRecord.objects.filter(stream_id=msg.stream, **self.owner.stream_filter()).aupdate(
            client_timings=msg.timings)
        if not updated:
            raise ProtocolError("unknown stream")

    # --- sending -------------------------------------------------------------------

    async def _send(self, *parts: Any) -> None:
        # One wire format on the socket: every frame is JSON whose `content` htmx swaps in.
        await self.send(text_data=json.dumps({"content": "".join(str(p) for p in parts)}))

    async def _send_error(self, message: str) -> None:
        await self._send(fragments.error(self.widget_id, message))


__all__ = ["ChatConsumer"]
