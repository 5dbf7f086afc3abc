"""The upstream's network layer (streamui.upstream.network) over real sockets: TLS, idle
connections the server closed, a reader that stops reading, timeouts and cancellation."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable

import httpcore
import httpx
import pytest
import trustme
import uvloop

from streamui.upstream.base import ChatRequest, Message
from streamui.upstream.events import End, TextDelta
from streamui.upstream.network import HIGH_WATER, AsyncioBackend, AsyncioStream, AsyncioTransport
from streamui.upstream.openai import OpenAICompatibleUpstream
from tests.support.replay_server import ReplayServer, Reply

REQUEST = ChatRequest(messages=[Message("user", "Hi")], max_tokens=50)
ANSWER = b"".join([b'data: {"choices":[{"index":0,"delta":{"content":"w "}}]}\n\n'] * 20
                  + [b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'])
LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=10)


async def _text(upstream: OpenAICompatibleUpstream) -> tuple[str, object]:
    events = [event async for event in upstream.stream(REQUEST)]
    return "".join(e.text for e in events if isinstance(e, TextDelta)), events[-1]


async def test_an_answer_over_https_is_read_whole() -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    async with ReplayServer(tls=server_context) as server:
        server.replies += [Reply(ANSWER, split=(7, 300), keep_alive=True), Reply(ANSWER, split=(64,))]
        upstream = OpenAICompatibleUpstream(base_url=server.base_url, model="m",
                                            transport=AsyncioTransport(limits=LIMITS, verify=client_context))
        assert await _text(upstream) == ("w " * 20, End("stop"))
        assert await _text(upstream) == ("w " * 20, End("stop"))  # the same TLS connection, reused
        assert len({seen.peer for seen in server.seen}) == 1
        await upstream.aclose()


async def test_a_server_whose_certificate_is_not_trusted_is_refused() -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    async with ReplayServer(tls=server_context) as server:
        server.replies.append(Reply(ANSWER))
        upstream = OpenAICompatibleUpstream(base_url=server.base_url, model="m")  # the system's trust store
        text, last = await _text(upstream)
        assert text == "" and getattr(last, "kind", None) == "refused", last
        assert "CERTIFICATE_VERIFY_FAILED" in str(getattr(last, "detail", ""))
        await upstream.aclose()


async def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    async with ReplayServer() as server:
        server.replies += [Reply(ANSWER, keep_alive=True, then_close=True), Reply(ANSWER)]
        upstream = OpenAICompatibleUpstream(base_url=server.base_url, model="m")
        assert await _text(upstream) == ("w " * 20, End("stop"))
        await asyncio.sleep(0.1)  # the server's FIN reaches the idle connection in the pool
        assert await _text(upstream) == ("w " * 20, End("stop"))
        assert len({seen.peer for seen in server.seen}) == 2
        await upstream.aclose()


async def _serve_once(payload: bytes) -> tuple[asyncio.Server, asyncio.Event]:
    written = asyncio.Event()

    async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(payload)
        await writer.drain()
        written.set()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0), written


async def _connect(server: asyncio.Server) -> AsyncioStream:
    port = server.sockets[0].getsockname()[1]
    return await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)


async def test_a_reader_that_stops_reading_pushes_back_and_loses_nothing() -> None:
    payload = bytes(range(256)) * (64 * 1024)  # 16 MiB
    server, written = await _serve_once(payload)
    stream = await _connect(server)
    await asyncio.sleep(0.5)
    # The protocol stopped reading past its high-water mark; the server's writes wait on TCP's window.
    assert len(stream._protocol.buffer) <= HIGH_WATER + 256 * 1024
    assert not written.is_set()
    received = bytearray()
    while chunk := await stream.read(64 * 1024, timeout=5):
        received += chunk
    assert received == payload and written.is_set()
    await stream.aclose()
    server.close()


async def _gated(before: bytes, after: bytes) -> tuple[asyncio.Server, asyncio.Event]:
    """A server that sends `before`, waits for the gate, sends `after` and closes."""
    gate = asyncio.Event()

    async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(before)
        await writer.drain()
        await gate.wait()
        writer.write(after)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0), gate


async def test_a_read_that_times_out_loses_nothing_that_comes_later() -> None:
    server, gate = await _gated(b"", b"late")
    stream = await _connect(server)
    with pytest.raises(httpcore.ReadTimeout):
        await stream.read(1024, timeout=0.1)
    reader = asyncio.create_task(stream.read(1024, timeout=5))
    await asyncio.sleep(0.05)
    reader.cancel()  # a cancelled read, as when the user presses Stop
    with pytest.raises(asyncio.CancelledError):
        await reader
    gate.set()
    assert await stream.read(1024, timeout=5) == b"late"
    assert await stream.read(1024, timeout=5) == b""
    assert stream.get_extra_info("is_readable")  # closed by the server: a pool would drop it
    await stream.aclose()
    server.close()


async def test_connect_errors_are_httpcore_errors() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    with pytest.raises(httpcore.ConnectError):
        await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)


async def test_each_read_keeps_its_own_timeout_on_one_connection() -> None:
    """One timer serves a connection's reads: a long timeout armed first must not delay a short one
    after it, and a read that got its data in time is not failed by an earlier read's deadline."""
    server, gate = await _gated(b"first", b"second")
    stream = await _connect(server)
    assert await stream.read(1024, timeout=30) == b"first"  # a long timeout arms the timer
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(httpcore.ReadTimeout):
        await stream.read(1024, timeout=0.2)
    assert loop.time() - started < 2  # the short timeout, not the long one
    loop.call_later(0.3, gate.set)
    assert await stream.read(1024, timeout=1.0) == b"second"  # past the 0.2 s deadline, within its own
    await stream.aclose()
    server.close()


async def test_a_write_the_server_does_not_read_times_out() -> None:
    gate = asyncio.Event()

    async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await gate.wait()  # never reads: TCP's window fills, the client's transport pauses writing
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    stream = await _connect(server)
    with pytest.raises(httpcore.WriteTimeout):
        for _ in range(64):
            await stream.write(b"\0" * (1 << 20), timeout=0.3)
    gate.set()
    await stream.aclose()
    server.close()


UNDER_UVLOOP = (test_an_answer_over_https_is_read_whole, test_an_idle_connection_the_server_closed_is_not_reused,
                test_a_reader_that_stops_reading_pushes_back_and_loses_nothing,
                test_a_read_that_times_out_loses_nothing_that_comes_later)


@pytest.mark.parametrize("check", UNDER_UVLOOP, ids=lambda check: check.__name__)
def test_the_layer_works_on_uvloop(check: Callable[[], Awaitable[None]]) -> None:
    """uvicorn runs on uvloop when it is installed; its transports are not asyncio.Transport."""

    async def bounded() -> None:
        async with asyncio.timeout(20):  # a connection that never comes up waits out the read timeout
            await check()

    uvloop.run(bounded())
