"""The floor: a minimal Channels consumer on the same Daphne, sending frames like streamui's.

`FloorConsumer` answers a chat "send" with a streaming status frame, `frames` reveal
frames of `frame_bytes` each, one every 1/`hz` s (one `asyncio.sleep` per frame per
stream, nothing else), then a done status frame: what the load client counts as a
stream, at the cost of Daphne, Twisted, autobahn and Channels alone. `streamui_load`
serves it next to streamui (`tools.loadgen.asgi`) and runs it in the same invocation,
with the frame size, rate and count streamui's own run just showed, so the ratio of
CPU per stream-second is streamui's cost over the framework's.

The parameters come in the socket's query string: ?frames=N&bytes=B&hz=R.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer

MAX_FRAMES = 5000


def _status(widget: str, state: str, stream: str) -> str:
    return (f'<div id="{widget}-status" data-streamui="status" data-state="{state}" data-stream="{stream}" '
            f'hx-swap-oob="outerHTML"></div>')


class FloorConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.frames = max(1, min(MAX_FRAMES, int(query.get("frames", ["150"])[0])))
        self.frame_bytes = max(64, min(65536, int(query.get("bytes", ["700"])[0])))
        self.hz = max(1.0, min(240.0, float(query.get("hz", ["23"])[0])))
        self.widget = str(self.scope["url_route"]["kwargs"]["widget_id"])
        self.task: asyncio.Task[None] | None = None
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        message: dict[str, Any] = json.loads(text_data or "{}")
        if message.get("action") == "send" and self.task is None:
            self.task = asyncio.create_task(self._stream())

    async def disconnect(self, code: int) -> None:
        if self.task is not None:
            self.task.cancel()

    async def _stream(self) -> None:
        stream = secrets.token_urlsafe(18)
        await self.send(json.dumps({"content": _status(self.widget, "streaming", stream), "seq": 1, "stream": stream}))
        head = f'<div id="{self.widget}-m1-out-tail" hx-swap-oob="beforeend">'
        pad = "x" * max(0, self.frame_bytes - len(head) - len("</div>") - 60)
        for seq in range(2, self.frames + 2):
            await asyncio.sleep(1 / self.hz)
            await self.send(json.dumps({"content": f"{head}{pad}</div>", "seq": seq, "stream": stream}))
        await self.send(json.dumps({"content": _status(self.widget, "done", stream), "seq": self.frames + 2,
                                    "stream": stream}))


__all__ = ["FloorConsumer"]
