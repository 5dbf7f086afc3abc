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
import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..upstream.base import ChatRequest, Message
from ..upstream.events import Confirm, DraftDelta, End, ReasoningDelta, Rollback, TextDelta, ToolCallDelta, Usage
from ..upstream.traces import Trace, load_trace
from .profiles import PROFILES
from .simulated import trace_for_request

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass(slots=True)
class RequestRecord:
    id: str
    model: str
    profile: str
    faults: list[str]
    max_tokens: int | None
    started_at: float
    messages: list[dict[str, str]] = field(default_factory=list)
    authorization: bool = False
    response_format: dict[str, Any] | None = None
    tokens_generated: int = 0
    tokens_after_disconnect: int = 0
    disconnected_at: float | None = None
    finished_at: float | None = None
    outcome: str = "streaming"  # streaming, done, disconnected, fault


@dataclass(slots=True)
class Faults:
    http_status: int | None = None
    drop_after: int | None = None
    malformed_after: int | None = None
    hang_after: int | None = None
    utf8split: bool = False
    force_stall: bool | None = None
    names: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, parts: list[str]) -> Faults:
        faults = cls(names=parts)
        for part in parts:
            name, _, arg = part.partition("@")
            if name.startswith("http") and name[4:].isdigit():
                faults.http_status = int(name[4:])
            elif name == "drop":
                faults.drop_after = int(arg or 0)
            elif name == "malformed":
                faults.malformed_after = int(arg or 0)
            elif name == "hang":
                faults.hang_after = int(arg or 0)
            elif name == "utf8split":
                faults.utf8split = True
            elif name == "stall":
                faults.force_stall = True
            elif name == "nostall":
                faults.force_stall = False
            else:
                raise ValueError(f"unknown fault {part!r}")
        return faults


class _HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large",
            429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


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

    # --- HTTP plumbing -------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, path, headers, body = await self._read_request(reader)
            await self._route(method, path, headers, body, reader, writer)
        except _HTTPError as exc:
            await self._send_json(writer, exc.status, {"error": {"message": exc.message}})
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            try:
                writer.close()
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes]:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise _HTTPError(400, "headers too large") from None
        if len(head) > MAX_HEADER_BYTES:
            raise _HTTPError(400, "headers too large")
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, path, _version = lines[0].split(" ", 2)
        except ValueError:
            raise _HTTPError(400, "bad request line") from None
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length > MAX_BODY_BYTES:
            raise _HTTPError(413, "body too large")
        body = await reader.readexactly(length) if length else b""
        return method, path.split("?", 1)[0], headers, body

    async def _send_json(self, writer: asyncio.StreamWriter, status: int, obj: Any,
                         extra_headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(obj).encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(payload)),
                   "Connection": "close", **(extra_headers or {})}
        head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        writer.write(head.encode() + payload)
        await writer.drain()

    async def _route(self, method: str, path: str, headers: dict[str, str], body: bytes, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        if path in ("/v1/models", "/models") and method == "GET":
            await self._send_json(writer, 200, {"object": "list", "data": [
                {"id": name, "object": "model", "owned_by": "streamui-fake"} for name in PROFILES]})
        elif path == "/_fake/requests" and method == "GET":
            await self._send_json(writer, 200, [asdict(r) for r in self.records])
        elif path in ("/v1/chat/completions", "/chat/completions"):
            if method != "POST":
                raise _HTTPError(405, "use POST")
            await self._completions(headers, body, reader, writer)
        else:
            raise _HTTPError(404, f"no route for {method} {path}")

    # --- chat completions ----------------------------------------------------------

    def _parse(self, body: bytes) -> tuple[ChatRequest, str, str, Faults, bool, bool]:
        try:
            data = json.loads(body)
            model = str(data.get("model") or self.profile)
            messages = [Message(m["role"], str(m.get("content") or "")) for m in data["messages"]]
            max_tokens = data.get("max_tokens") or data.get("max_completion_tokens")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _HTTPError(400, f"invalid request: {exc}") from None
        name, *fault_parts = model.split("+")
        profile = name if name in PROFILES else self.profile
        try:
            faults = Faults.parse(fault_parts)
        except ValueError as exc:
            raise _HTTPError(400, str(exc)) from None
        response_format = data.get("response_format") if isinstance(data.get("response_format"), dict) else None
        request = ChatRequest(messages=messages, max_tokens=int(max_tokens) if max_tokens else 4096,
                              response_format=response_format)
        include_usage = bool((data.get("stream_options") or {}).get("include_usage"))
        return request, model, profile, faults, bool(data.get("stream")), include_usage

    async def _completions(self, headers: dict[str, str], body: bytes, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> None:
        request, model, profile, faults, stream, include_usage = self._parse(body)
        response_format = request.response_format
        record = RequestRecord(id=f"chatcmpl-{uuid.uuid4().hex[:12]}", model=model, profile=profile,
                               faults=faults.names, max_tokens=request.max_tokens, started_at=time.time(),
                               messages=[{"role": m.role, "content": m.content} for m in request.messages],
                               authorization=headers.get("authorization", "").startswith("Bearer "),
                               response_format=response_format)
        self.records.append(record)
        if faults.http_status:
            record.outcome = "fault"
            record.finished_at = time.time()
            extra = {"Retry-After": "2"} if faults.http_status == 429 else None
            await self._send_json(writer, faults.http_status,
                                  {"error": {"message": f"simulated HTTP {faults.http_status}"}}, extra)
            return
        trace = self.trace or trace_for_request(request, profile=profile, speed=self.speed,
                                                force_stall=faults.force_stall)
        if not stream:
            await self._send_complete(writer, record, trace)
            return
        await self._stream(reader, writer, record, trace, faults, include_usage)

    async def _send_complete(self, writer: asyncio.StreamWriter, record: RequestRecord, trace: Trace) -> None:
        text = trace.text
        record.tokens_generated = sum(isinstance(t.event, TextDelta) for t in trace.events)
        record.outcome = "done"
        record.finished_at = time.time()
        await self._send_json(writer, 200, {
            "id": record.id, "object": "chat.completion", "model": record.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": record.tokens_generated},
        })

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

        watcher = asyncio.create_task(watch_client())
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                     b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
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
                    await self._write_chunk(writer, b'data: {"choices": [{"delta": {"content": "unterminated\n\n',
                                            faults)
                    faults.malformed_after = None
                    continue
                delta = self._delta(event)
                if isinstance(event, End):
                    # As OpenAI does: the finish_reason chunk, then the usage chunk, then [DONE].
                    await self._write_event(writer, record, {"finish_reason": event.reason, "delta": {}}, faults)
                    if include_usage:
                        payload = {"id": record.id, "object": "chat.completion.chunk", "model": record.model,
                                   "choices": [], "usage": {"prompt_tokens": 0, "completion_tokens": tokens}}
                        await self._write_chunk(writer, f"data: {json.dumps(payload)}\n\n".encode(), faults)
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
                await self._write_event(writer, record, {"finish_reason": None, "delta": delta}, faults)
            await self._write_chunk(writer, b"data: [DONE]\n\n", faults)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            record.outcome = "done"
        except (ConnectionError, OSError):
            if record.disconnected_at is None:
                record.disconnected_at = time.time()
            record.outcome = "disconnected"
        finally:
            record.finished_at = time.time()
            watcher.cancel()

    @staticmethod
    def _delta(event: object) -> dict[str, Any] | None:
        if isinstance(event, TextDelta):
            return {"content": event.text}
        if isinstance(event, ReasoningDelta):
            return {"reasoning_content": event.text}
        if isinstance(event, DraftDelta):
            return {"streamui_draft": event.text}
        if isinstance(event, Rollback):
            return {"streamui_rollback": event.chars}
        if isinstance(event, Confirm):
            return {"streamui_confirm": True}
        if isinstance(event, ToolCallDelta):
            call: dict[str, Any] = {"index": event.index, "function": {"arguments": event.arguments}}
            if event.call_id:
                call["id"] = event.call_id
                call["type"] = "function"
            if event.name:
                call["function"]["name"] = event.name
            return {"tool_calls": [call]}
        return None

    async def _write_event(self, writer: asyncio.StreamWriter, record: RequestRecord, choice: dict[str, Any],
                           faults: Faults) -> None:
        payload = {"id": record.id, "object": "chat.completion.chunk", "created": int(record.started_at),
                   "model": record.model, "choices": [{"index": 0, **choice}]}
        await self._write_chunk(writer, f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode(), faults)

    @staticmethod
    async def _write_chunk(writer: asyncio.StreamWriter, data: bytes, faults: Faults) -> None:
        if faults.utf8split:
            # One HTTP chunk per byte: multi-byte characters arrive split across reads.
            for i in range(len(data)):
                writer.write(b"1\r\n" + data[i : i + 1] + b"\r\n")
                await writer.drain()
            return
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await writer.drain()


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


__all__ = ["FakeLLMServer", "FakeLLMServerThread", "Faults", "RequestRecord"]
