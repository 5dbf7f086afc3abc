"""A hostile OpenAI-compatible streaming server for fault tests and the soak run.

The last user message picks the behaviour with `SCN:<name>[:<a>[:<b>]]`:

- `steady:N:MS`   N words, one every MS ms, then `finish_reason: stop`
- `endless:MS`    a word every MS ms forever (a paragraph break every 50 words)
- `surrogate`     an emoji split across two chunks as JSON escapes (`"\\ud83d"`, `"\\ude00"`), then a
                  lone `"\\ud800"` (review findings 3.8 / 3.9)
- `cr`            bare CRs that spell `id:` / `event:` lines in reasoning, answer and tool calls (3.7)
- `tools:N`       one tool call, then N words (4.18)
- `bigchunk:KB`   one content chunk of KB KiB (4.10), then a short tail

Anything else streams `steady:40:20`. Each request is recorded (`records`): the messages it
carried, the chunks written, and when the client went away (EOF on the socket), so a test
can prove that the server cancelled the upstream. Loopback only, port 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_SCN = re.compile(r"SCN:([a-z_]+)(?::(\d+))?(?::(\d+))?")


@dataclass(slots=True)
class HostileRecord:
    scenario: str
    messages: list[dict[str, Any]]
    started_at: float
    chunks: int = 0
    disconnected_at: float | None = None
    finished_at: float | None = None

    @property
    def history_chars(self) -> int:
        return sum(len(str(m.get("content") or "")) for m in self.messages)


def _chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> bytes:
    body = {"id": "hostile", "object": "chat.completion.chunk", "model": "hostile",
            "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}
    return f"data: {json.dumps(body)}\n\n".encode()


def _raw(delta_json: str) -> bytes:
    """A chunk whose delta is given as JSON text (to send escapes json.dumps would not produce)."""
    return ('data: {"id":"hostile","object":"chat.completion.chunk","model":"hostile","choices":'
            '[{"index":0,"delta":' + delta_json + ',"finish_reason":null}]}\n\n').encode()


def scenario_chunks(prompt: str) -> Iterator[tuple[float, bytes]]:
    """(delay before, bytes) for the prompt's scenario; endless scenarios never stop."""
    match = _SCN.search(prompt)
    name, a, b = (match.group(1), match.group(2), match.group(3)) if match else ("steady", None, None)
    if name == "endless":
        gap = int(a or 20) / 1000
        n = 0
        while True:
            n += 1
            yield gap, _chunk({"content": f"w{n} " + ("\n\n" if n % 50 == 0 else "")})
    if name == "surrogate":
        yield 0.01, _chunk({"content": "Smile "})
        yield 0.01, _raw('{"content":"\\ud83d"}')
        yield 0.01, _raw('{"content":"\\ude00 and a lone "}')
        yield 0.01, _raw('{"content":"\\ud800 done."}')
        yield 0.01, _chunk(finish="stop")
        return
    if name == "cr":
        yield 0.01, _chunk({"reasoning_content": "think\rid: 99999999\revent: evil\rdata: <b>x</b>"})
        yield 0.01, _chunk({"content": "answer\rid: 424242\revent: evil\r tail of answer"})
        yield 0.01, _chunk({"tool_calls": [{"index": 0, "id": "c1\rid: 5555", "type": "function",
                                            "function": {"name": "look\revent: evil", "arguments": ""}}]})
        yield 0.01, _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"q": "a\\rid: 7777"}'}}]})
        yield 0.01, _chunk(finish="stop")
        return
    if name == "bigchunk":
        yield 0.01, _chunk({"content": "big " + "x" * (int(a or 1024) * 1024)})
        yield 0.01, _chunk({"content": "\n\nthe end."})
        yield 0.01, _chunk(finish="stop")
        return
    if name == "tools":
        yield 0.01, _chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                            "function": {"name": "get_weather", "arguments": ""}}]})
        yield 0.01, _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Paris"}'}}]})
        for i in range(int(a or 10)):
            yield 0.02, _chunk({"content": f"t{i} "})
        yield 0.01, _chunk(finish="stop")
        return
    count, gap = int(a or 40), int(b or 20) / 1000
    for i in range(count):
        yield gap, _chunk({"content": f"w{i} "})
    yield 0.0, _chunk(finish="stop")


class HostileLLMServer:
    def __init__(self) -> None:
        self.records: list[HostileRecord] = []
        self.port = 0
        self._server: asyncio.base_events.Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode("latin-1").split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            body = json.loads(await reader.readexactly(length)) if length else {}
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, ConnectionError):
            writer.close()
            return
        messages = list(body.get("messages") or [])
        prompt = next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")
        match = _SCN.search(prompt)
        record = HostileRecord(match.group(0) if match else "steady", messages, time.time())
        self.records.append(record)
        gone = asyncio.Event()

        async def watch() -> None:
            try:
                while await reader.read(1024):
                    pass
            except (ConnectionError, OSError):
                pass
            record.disconnected_at = record.disconnected_at or time.time()
            gone.set()

        watcher = asyncio.create_task(watch())
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
                     b"Connection: close\r\n\r\n")
        try:
            for delay, data in scenario_chunks(prompt):
                if delay:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(gone.wait(), delay)
                if gone.is_set():
                    return
                writer.write(b"%x\r\n%s\r\n" % (len(data), data))
                await writer.drain()
                record.chunks += 1
            done = b"data: [DONE]\n\n"
            writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
            await writer.drain()
        except (ConnectionError, OSError):
            record.disconnected_at = record.disconnected_at or time.time()
        finally:
            record.finished_at = time.time()
            watcher.cancel()
            writer.close()

    def wait_disconnected(self, index: int, timeout: float) -> float | None:
        """From another thread: when the client of request `index` went away (None: still there)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.records) > index and self.records[index].disconnected_at is not None:
                return self.records[index].disconnected_at
            time.sleep(0.05)
        return None


class HostileLLMThread:
    """The server on its own event loop in a daemon thread (for tests driving subprocesses)."""

    def __init__(self) -> None:
        self.server = HostileLLMServer()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="hostile-llm")

    def __enter__(self) -> HostileLLMServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


__all__ = ["HostileLLMServer", "HostileLLMThread", "HostileRecord", "scenario_chunks"]
