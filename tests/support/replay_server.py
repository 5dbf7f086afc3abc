"""A tiny real HTTP server that replays a recorded response body byte for byte.

Each request is answered with the next queued `Reply`: its status, Content-Type and
body, sent with chunked transfer encoding in pieces of the sizes asked for (so an SSE
event, a UTF-8 character or a CRLF can be split across network reads), optionally with
a pause between pieces. The server records each request (headers, JSON body) and when
the client went away, so a Stop test can see the disconnect from the server's side.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import ssl
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Self


@dataclass(frozen=True)
class Reply:
    body: bytes
    status: int = 200
    content_type: str = "text/event-stream"
    split: Sequence[int] | None = None  # piece sizes, cycled; None: the body in one piece
    pause: float = 0.0  # seconds between pieces
    keep_alive: bool = False  # keep the connection open for the next request
    then_close: bool = False  # say keep-alive, then close the connection once idle (as servers time out)


@dataclass
class Seen:
    path: str
    peer: tuple[str, int]
    headers: dict[str, str]
    json: Any
    started_at: float
    pieces_sent: int = 0
    disconnected_at: float | None = None
    finished: bool = False


@dataclass
class ReplayServer:
    host: str = "127.0.0.1"
    port: int = 0
    replies: list[Reply] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    tls: ssl.SSLContext | None = None  # serve HTTPS with this server-side context
    _server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}/v1"

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")[:2]
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                fields = (line.partition(":") for line in head[1:] if line)
                headers = {k.strip().lower(): v.strip() for k, _, v in fields}
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                seen = Seen(head[0].split(" ")[1], peer, headers, json.loads(body) if body else None, time.time())
                self.seen.append(seen)
                reply = self.replies.pop(0) if self.replies else Reply(b"no reply queued", 500, "text/plain")
                await self._send(reader, writer, reply, seen)
                if not (reply.keep_alive and seen.finished) or reply.then_close:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _send(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reply: Reply,
                    seen: Seen) -> None:
        gone = asyncio.Event()

        async def watch() -> None:
            try:
                while await reader.read(1024):
                    pass
            except (ConnectionError, OSError):
                pass
            seen.disconnected_at = seen.disconnected_at or time.time()
            gone.set()

        # Watching for the client going away reads the socket, so a kept-alive connection is not watched.
        watcher = None if reply.keep_alive else asyncio.create_task(watch())
        connection = "keep-alive" if reply.keep_alive else "close"
        writer.write(f"HTTP/1.1 {reply.status} Replay\r\nContent-Type: {reply.content_type}\r\n"
                     f"Transfer-Encoding: chunked\r\nConnection: {connection}\r\n\r\n".encode())
        try:
            for piece in _pieces(reply.body, reply.split):
                if gone.is_set():
                    return
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                await writer.drain()
                seen.pieces_sent += 1
                if reply.pause:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(gone.wait(), reply.pause)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            seen.finished = True
        except (ConnectionError, OSError):
            seen.disconnected_at = seen.disconnected_at or time.time()
        finally:
            if watcher is not None:
                watcher.cancel()


def _pieces(body: bytes, split: Sequence[int] | None) -> Iterator[bytes]:
    if not split:
        if body:
            yield body
        return
    at = 0
    for size in itertools.cycle(split):
        if at >= len(body):
            return
        yield body[at : at + size]
        at += size


__all__ = ["ReplayServer", "Reply", "Seen"]
