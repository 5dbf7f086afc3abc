"""An OpenAI-compatible HTTP server in front of the simulated LLM, for tests and demos.

`python manage.py streamui_fake_llm --port 8100 --profile bursty` serves
POST /v1/chat/completions (streaming SSE and plain JSON) and GET /v1/models. It
watches each streaming connection for the client going away, stops generating then,
and records per request how many tokens it generated after the client left: GET
/_fake/requests returns those records, so tests can prove that Stop reached the model.

The `model` field picks the behaviour: a profile name, optionally followed by faults,
e.g. "bursty", "steady+drop@20", "stalls+stall", "steady+http500", "steady+http429",
"steady+malformed@5", "steady+utf8split", "steady+hang@10". Unknown models use the
server's default profile.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..upstream.events import DraftDelta, End, ReasoningDelta, TextDelta, ToolCallDelta, Usage
from ..upstream.traces import Trace, load_trace
from .fake_http import EVENT_STREAM_HEAD, HTTPError, end_chunks, read_request, send_json, write_chunk
from .fake_payloads import (
    DONE_EVENT,
    MALFORMED_EVENT,
    chunk_event,
    completion_body,
    delta_for,
    models_list,
    usage_event,
)
from .fake_request import Faults, RequestRecord, parse_completion_request, start_record
from .profiles import PROFILES
from .simulated import trace_for_request


class FakeLLMServer:
    def __init__(
        self,
        *,
        profile: str = "bursty",
        speed: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        trace: str | Path | None = None,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
        self.profile = profile
        self.speed = speed
        self.host = host
        self.port = port
        self.trace: Trace | None = load_trace(trace) if trace else None
        self.records: list[RequestRecord] = []
        self._server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def serve_forever(self) -> None:
        await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, path, headers, body = await read_request(reader)
            await self._route(method, path, headers, body, reader, writer)
        except HTTPError as exc:
            await send_json(writer, exc.status, {"error": {"message": exc.message}})
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            try:
                writer.close()
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def _route(self, method: str, path: str, headers: dict[str, str], body: bytes, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        if path in ("/v1/models", "/models") and method == "GET":
            await send_json(writer, 200, models_list())
        elif path == "/_fake/requests" and method == "GET":
            await send_json(writer, 200, [asdict(r) for r in self.records])
        elif path in ("/v1/chat/completions", "/chat/completions"):
            if method != "POST":
                raise HTTPError(405, "use POST")
            await self._completions(headers, body, reader, writer)
        else:
            raise HTTPError(404, f"no route for {method} {path}")

    async def _completions(self, headers: dict[str, str], body: bytes, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> None:
        request = parse_completion_request(body, self.profile)
        faults = request.faults
        record = start_record(request, authorization=headers.get("authorization", "").startswith("Bearer "))
        self.records.append(record)
        if faults.http_status:
            record.outcome = "fault"
            record.finished_at = time.time()
            extra = {"Retry-After": "2"} if faults.http_status == 429 else None
            await send_json(writer, faults.http_status,
                            {"error": {"message": f"simulated HTTP {faults.http_status}"}}, extra)
            return
        trace = self.trace or trace_for_request(request.chat, profile=request.profile, speed=self.speed,
                                                force_stall=faults.force_stall)
        if not request.stream:
            await self._send_complete(writer, record, trace)
            return
        await self._stream(reader, writer, record, trace, faults, request.include_usage)

    async def _send_complete(self, writer: asyncio.StreamWriter, record: RequestRecord, trace: Trace) -> None:
        text = trace.text
        record.tokens_generated = sum(isinstance(t.event, TextDelta) for t in trace.events)
        record.outcome = "done"
        record.finished_at = time.time()
        await send_json(writer, 200, completion_body(record, text))

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: RequestRecord,
                      trace: Trace, faults: Faults, include_usage: bool) -> None:
        gone = asyncio.Event()

        async def watch_client() -> None:
            # A client that closes its side reads as EOF here, at once, while we are
            # still sleeping between tokens: that is how a real server learns of Stop.
            try:
                while await reader.read(1024):
                    pass
            except (ConnectionError, OSError):
                pass
            if record.disconnected_at is None:
                record.disconnected_at = time.time()
            gone.set()

        async def send(data: bytes) -> None:
            await write_chunk(writer, data, byte_at_a_time=faults.utf8split)

        watcher = asyncio.create_task(watch_client())
        writer.write(EVENT_STREAM_HEAD)
        loop = asyncio.get_running_loop()
        start = loop.time()
        tokens = 0
        try:
            for timed in trace.events:
                delay = start + timed.t - loop.time()
                if delay > 0 and not gone.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(gone.wait(), delay)
                if gone.is_set():
                    record.outcome = "disconnected"
                    return
                event = timed.event
                if faults.hang_after is not None and tokens >= faults.hang_after:
                    await gone.wait()
                    record.outcome = "disconnected"
                    return
                if faults.drop_after is not None and tokens >= faults.drop_after:
                    record.outcome = "fault"
                    writer.transport.abort()
                    return
                if faults.malformed_after is not None and tokens >= faults.malformed_after:
                    await send(MALFORMED_EVENT)
                    faults.malformed_after = None
                    continue
                delta = delta_for(event)
                if isinstance(event, End):
                    # As OpenAI does: the finish_reason chunk, then the usage chunk, then [DONE].
                    await send(chunk_event(record, {"finish_reason": event.reason, "delta": {}}))
                    if include_usage:
                        await send(usage_event(record, tokens))
                    continue
                if isinstance(event, Usage):
                    continue
                if delta is None:
                    continue
                if isinstance(event, (TextDelta, ReasoningDelta, DraftDelta, ToolCallDelta)):
                    tokens += 1
                    record.tokens_generated += 1
                    if gone.is_set():
                        record.tokens_after_disconnect += 1
                await send(chunk_event(record, {"finish_reason": None, "delta": delta}))
            await send(DONE_EVENT)
            await end_chunks(writer)
            record.outcome = "done"
        except (ConnectionError, OSError):
            if record.disconnected_at is None:
                record.disconnected_at = time.time()
            record.outcome = "disconnected"
        finally:
            record.finished_at = time.time()
            watcher.cancel()


class FakeLLMServerThread:
    """Runs a FakeLLMServer on its own event loop in a background thread (for sync tests)."""

    def __init__(self, **kwargs: Any) -> None:
        self.server = FakeLLMServer(**kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-llm", daemon=True)

    def __enter__(self) -> FakeLLMServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


# Faults and RequestRecord live in fake_request; re-exported because callers know them from here.
__all__ = ["FakeLLMServer", "FakeLLMServerThread", "Faults", "RequestRecord"]
