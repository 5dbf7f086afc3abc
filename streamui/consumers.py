"""The WebSocket transport: one ChatConsumer per open widget.

The consumer starts streams and follows their journals; it never owns a generation
(the hub does), so a closed tab, a refresh or a worker hop loses nothing: the widget
reattaches with `resume` and the journal replays from its last sequence number.

What one socket may cost is bounded (streamui.socket_guard): its origin must be the page's
own, its incoming frames are rate-limited, a client that does not read what it asked for is
disconnected, frames over the message limit are split, and rejections are logged sparingly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from . import fragments
from .conf import get_settings
from .conversations import Owner, anew_conversation
from .hub import StreamAccessError, get_hub
from .journal import Entry
from .limits import StartRateLimiter
from .models import StreamRecord
from .observability import log_stream_event
from .protocol import ClientMessage, ProtocolError, parse_message, validate_timings
from .socket_guard import ByteWindow, LogLimiter, TokenBucket, origin_allowed
from .streams import close_orphaned, owner_key, render_entry, start_stream
from .tasks import cancel_and_wait
from .wire import FrameEncoder, payload

logger = logging.getLogger("streamui.consumer")

MAX_FRAME_BYTES = 512 * 1024  # well under the 1 MiB WebSocket message limit of Daphne/autobahn (review 4.10)
TOO_BIG = "Part of this answer is too large to show live: reload the page to see it whole."
_open_sockets: Counter[str] = Counter()  # per owner, in this process (review 2.9)
_new_limiter: StartRateLimiter | None = None


def new_limiter() -> StartRateLimiter:
    global _new_limiter
    per_minute = int(get_settings().max_new_per_minute)
    if _new_limiter is None or _new_limiter.per_minute != per_minute:
        _new_limiter = StartRateLimiter(per_minute=per_minute)
    return _new_limiter


def client_address(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


class ChatConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels ships no types
    # No channel-layer channel per socket: cross-worker messages go to the hub, so a socket
    # costs no Redis listener (with channels_redis each one would block on Redis).
    channel_layer_alias = None

    widget_id: str
    owner: Owner | None
    stream_id: str | None
    follower: asyncio.Task[None] | None

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes the thread's database connections before every message it hands a
        # consumer, one thread hop each; with CONN_MAX_AGE=0 the next group commit then opened a
        # new one. This consumer's database work goes through streamui.group_commit, whose writer
        # keeps its connection healthy, so messages go straight to their handlers.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        config = get_settings()
        self.widget_id = self.scope["url_route"]["kwargs"]["widget_id"]
        self.owner = Owner.from_scope(self.scope)
        self.stream_id = None
        self.follower = None
        self._counted = ""
        self._wire = FrameEncoder(self.widget_id, max_bytes=MAX_FRAME_BYTES, render_rest=render_entry)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.scope.get("headers", [])}
        # Browsers always send Origin, so a missing one is not a cross-site page (the demo's outer
        # AllowedHostsOriginValidator refuses it anyway); a present one must match exactly.
        if "origin" in headers and not origin_allowed(headers.get("origin"), scheme=str(self.scope.get("scheme", "ws")),
                              host=headers.get("host", ""), allowed=config.allowed_origins):
            logger.info("widget %s: refused origin %r", self.widget_id, headers.get("origin"))
            await self.close(code=4003)  # review 1.10: scheme, host and port, not the host alone
            return
        rate = float(config.max_frames_per_second)
        self._frames = TokenBucket(rate, 2 * rate)
        self._sent = ByteWindow(int(config.max_unread_bytes))
        self._log = LogLimiter()
        if self.owner is not None:
            key = owner_key(self.owner)
            if _open_sockets[key] >= int(config.max_sockets_per_session):
                await self.close(code=4008)
                return
            _open_sockets[key] += 1
            self._counted = key
        await self.accept()
        if self.owner is None:
            await self._send_error("Your session has expired: reload the page to chat.")

    async def disconnect(self, code: int) -> None:
        # Only stop following: the hub keeps the stream alive for the grace period.
        if getattr(self, "_counted", ""):
            _open_sockets[self._counted] -= 1
            if _open_sockets[self._counted] <= 0:
                del _open_sockets[self._counted]
            self._counted = ""
        if hasattr(self, "follower"):
            await self._unfollow()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self._frames.take():
            # A flood: drop the socket before parsing anything (reviews 2.6, 2.7); it can reconnect.
            if self._log.allow():
                logger.warning("widget %s: too many frames; closing the socket", self.widget_id)
            await self.close(code=4029)
            return
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
            if self._log.allow():
                logger.info("widget %s: rejected message: %s", self.widget_id, exc)
            await self._send_error(str(exc))
        except Exception:
            # Anything else (Redis gone, a bug) must not close the socket with 1011 and no word (review 4.5).
            logger.exception("widget %s: message failed", self.widget_id)
            await self._send_error("Something went wrong on the server: try again in a moment.")

    async def _dispatch(self, message: ClientMessage) -> None:
        assert self.owner is not None
        if message.action == "send":
            if self.follower is not None and not self.follower.done():
                raise ProtocolError("A reply is still streaming: stop it first.")
            started = await start_stream(self.owner, message, address=client_address(self.scope))
            await self._send_data(self._wire.turn_frame(
                started.user_message.pk, started.answer.pk, started.user_message.content,
                str(started.conversation.public_id), mode=started.mode, lanes=started.lanes,
                sent=(message.prompt, message.conversation)))
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
            if not new_limiter().allow(owner_key(self.owner)):
                raise ProtocolError("Too many new conversations in a minute: wait a moment.")  # review 2.6
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
        self._wire.reset()  # the first frames of this follow name their stream and append target again
        hub = get_hub()
        try:
            await hub.check_owner(stream_id, owner_key(self.owner))
        except StreamAccessError:
            orphan = await close_orphaned(stream_id, self.owner, restore=False)
            if orphan is None:
                raise ProtocolError("unknown stream") from None
            # Its worker died. What the journal still holds comes first (Redis keeps it after the
            # lease), so no reload shows less than it did; with nothing left, the saved answer.
            held = await hub.replay(stream_id, after)
            for entry in held:
                if not await self._send_entry(entry, stream_id):
                    return
            if not held and after == 0:
                orphan = await close_orphaned(stream_id, self.owner, restore=True) or orphan
            await self._send_frame(render_entry(orphan, self.widget_id, stream_id))
            return
        if after:
            log_stream_event("resume", stream_id, widget=self.widget_id, after=after)
        self.stream_id = stream_id
        self.follower = asyncio.create_task(self._forward(stream_id, after), name=f"streamui-follow-{stream_id}")

    async def _forward(self, stream_id: str, after: int) -> None:
        assert self.owner is not None
        last: Entry | None = None
        try:
            async for entry in get_hub().follow(stream_id, owner_key(self.owner), after):
                last = entry
                if not await self._send_entry(entry, stream_id):
                    return
            if last is None or not last.final:
                # The journal ended with no final entry: the owning worker died (review 4.2).
                orphan = await close_orphaned(stream_id, self.owner, restore=last is None and after == 0)
                if orphan is not None:
                    await self._send_frame(render_entry(orphan, self.widget_id, stream_id))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("widget %s: following stream %s failed", self.widget_id, stream_id)
            with contextlib.suppress(Exception):
                await self._send_error("The live view of this answer failed: reload the page to see it.")

    async def _send_entry(self, entry: Entry, stream_id: str) -> bool:
        """One journal entry as one or more frames (each under the limit, compact where it can be: see
        streamui.wire); False: the socket was closed."""
        for frame in self._wire.entry(entry, stream_id):
            content = frame.get("content") if isinstance(frame, dict) else None
            if content is not None and len(content.encode("utf-8")) > MAX_FRAME_BYTES:
                assert isinstance(frame, dict)
                frame["content"] = str(fragments.error(self.widget_id, TOO_BIG))
            # Journal frames carry `seq` (or imply it), which the widget keeps for resuming.
            if not await self._send_data(frame):
                return False
        return True

    async def _send_frame(self, content: str, **extra: Any) -> bool:
        return await self._send_data({"content": content, **extra})

    async def _send_data(self, frame: dict[str, Any] | str) -> bool:
        data = payload(frame, self._wire.features)
        try:
            size = len(data.encode("utf-8"))
        except UnicodeEncodeError:  # a lone surrogate in the model's text: escaped, as JSON allows
            data = json.dumps(frame, separators=(",", ":"))
            size = len(data)
        if not self._sent.add(size):
            # A client this far behind is not reading (review 2.8): close; it can resume later.
            if self._log.allow():
                logger.warning("widget %s: client is not reading; closing the socket", self.widget_id)
            await self.close(code=4009)
            return False
        await self.send(text_data=data)
        return True

    async def _unfollow(self) -> None:
        await cancel_and_wait(self.follower)
        self.follower = None

    async def _client_timing(self, msg: ClientMessage) -> None:
        if not msg.stream or msg.timings is None:
            raise ProtocolError("timing needs a stream id and an object of timings")
        assert self.owner is not None
        timings = validate_timings(msg.timings)  # review 2.14: bounded, or refused
        updated = await StreamRecord.objects.filter(stream_id=msg.stream, **self.owner.stream_filter()).aupdate(
            client_timings=timings)
        if not updated:
            raise ProtocolError("unknown stream")

    # --- sending -------------------------------------------------------------------

    async def _send(self, *parts: Any) -> None:
        # One wire format on the socket: every frame is JSON whose `content` htmx swaps in.
        await self._send_frame("".join(str(p) for p in parts))

    async def _send_error(self, message: str) -> None:
        await self._send(fragments.error(self.widget_id, message))


__all__ = ["ChatConsumer"]
