"""httpcore's network layer on asyncio's own transports, for streams that read many small chunks.

httpx reads through httpcore, and httpcore's default backend on asyncio is anyio. For a model
server's stream (one small chunk per token, for seconds) anyio's read is most of the adapter's
cost (tools/bench/upstream_cost, issue 9): every read opens a cancel scope for its timeout, asks
which async library is running, and stops and restarts the socket's reading, two epoll_ctl
system calls per token. Here a protocol keeps reading into a buffer, and a read waits only
when the buffer is empty, with one timer for its timeout. Same httpcore, same h11, same httpx:
only the socket's side of httpcore's `AsyncNetworkBackend` interface is different.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Coroutine, Iterable
from typing import Any, cast

import httpcore
import httpx

# A reader that stops reading (a paused consumer) holds at most this much before the socket
# stops being read and TCP's window pushes back on the server.
HIGH_WATER = 1024 * 1024
LOW_WATER = 256 * 1024


class _Protocol(asyncio.Protocol):
    """Buffers what arrives; wakes the one reader that waits for it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.paused = False
        self._reader: asyncio.Future[None] | None = None
        # One timer per connection for the read timeout, not one per read: a read that waits sets
        # the deadline, and the timer, when it fires, fails the waiting read if it is past it or
        # comes back at the deadline of the read waiting now (a token every 20 ms, a 60 s timeout).
        self._deadline = 0.0
        self._watchdog: asyncio.TimerHandle | None = None
        self._writable: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: uvloop's transports (uvicorn's default loop) are no subclass of
        # asyncio.Transport, though they have all of its methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > HIGH_WATER and self.transport is not None and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # close the transport: HTTP/1.1 has no use for a half-open socket

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake_reader()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    def _wake_reader(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.set_result(None)

    def take(self, max_bytes: int) -> bytes:
        data = bytes(self.buffer[:max_bytes])
        del self.buffer[:max_bytes]
        if self.paused and len(self.buffer) < LOW_WATER and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return data

    async def readable(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        reader = self._reader = loop.create_future()
        self._deadline = float("inf") if timeout is None else loop.time() + timeout
        if timeout is not None and (self._watchdog is None or self._deadline < self._watchdog.when()):
            if self._watchdog is not None:
                self._watchdog.cancel()  # a shorter timeout than the one the timer is set for
            self._watchdog = loop.call_at(self._deadline, self._watch)
        try:
            await reader
        finally:
            self._reader = None

    def _watch(self) -> None:
        self._watchdog = None
        reader = self._reader
        if reader is None or reader.done():
            return  # nothing waits: the next read that does arms the timer again
        loop = reader.get_loop()
        if loop.time() >= self._deadline:
            reader.set_exception(httpcore.ReadTimeout("timed out"))
        elif self._deadline != float("inf"):
            self._watchdog = loop.call_at(self._deadline, self._watch)

    async def drained(self, timeout: float | None) -> None:
        if self._writable is None:
            return
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._writable)
        except TimeoutError as exc:
            raise httpcore.WriteTimeout("timed out") from exc


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.buffer and not protocol.eof:
            await protocol.readable(timeout)
        if protocol.buffer:
            return protocol.take(max_bytes)
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error)) from protocol.error
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._transport.write(buffer)
        await self._protocol.drained(timeout)

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(self._transport, self._protocol, ssl_context,
                                             server_hostname=server_hostname, ssl_handshake_timeout=timeout)
        except TimeoutError as exc:
            self._transport.abort()
            raise httpcore.ConnectTimeout(str(exc) or "the TLS handshake timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            self._transport.abort()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self._protocol.transport = transport
        return AsyncioStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # What a pool asks of an idle connection: did the server close it (or send something)?
            # The protocol never stops reading an idle connection, so it already knows.
            return bool(self._protocol.buffer) or self._protocol.eof
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        return self._transport.get_extra_info(info)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[tuple[Any, ...]] | None = None) -> AsyncioStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        return await _connected(loop.create_connection(_Protocol, host, port, local_addr=local),
                                f"{host}:{port}", timeout, socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[tuple[Any, ...]] | None = None) -> AsyncioStream:
        loop = asyncio.get_running_loop()
        return await _connected(loop.create_unix_connection(_Protocol, path), path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _connected(connecting: Coroutine[Any, Any, tuple[asyncio.Transport, _Protocol]], where: str,
                     timeout: float | None, options: Iterable[tuple[Any, ...]] | None) -> AsyncioStream:
    try:
        async with asyncio.timeout(timeout):
            transport, protocol = await connecting
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"connecting to {where} timed out") from exc
    except OSError as exc:
        raise httpcore.ConnectError(str(exc)) from exc
    sock: socket.socket | None = transport.get_extra_info("socket")
    for option in options or ():
        if sock is not None:
            sock.setsockopt(*option)
    return AsyncioStream(transport, protocol)


class AsyncioTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (its request and error mapping), its pool reading through AsyncioBackend."""

    def __init__(self, *, limits: httpx.Limits, verify: ssl.SSLContext | str | bool = True) -> None:
        context = httpx.create_ssl_context(verify=verify)  # once: loading the CA bundle takes milliseconds
        super().__init__(limits=limits, verify=context)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=AsyncioBackend(),
        )


__all__ = ["AsyncioBackend", "AsyncioStream", "AsyncioTransport"]
