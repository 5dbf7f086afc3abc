"""The load generator's client process: `python -m tools.loadgen.client < config.json`.

Runs in its own process so its CPU is not the server's. It reads one JSON config on
stdin and writes JSON lines on stdout: {"event": "connecting"} when it starts opening
sockets, {"event": "finished"} when every stream ended (or the deadline came), then
{"event": "result", ...}. The parent samples the server between the first two.

Each client: its own session (GET / with no cookies), its own socket, one prompt at
its slot in the ramp, then it records the arrival time of every frame until the
stream's final status. Sockets are driven by websockets' sans-I/O protocol under a
plain asyncio.Protocol, so a frame is timestamped in `data_received`, when the bytes
come off the socket, not when some coroutine gets round to it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Origin
from websockets.uri import parse_uri

from .config import ClientConfig
from .frames import read_frame
from .server import raise_fd_limit

SESSION_WORKERS = 8
CONNECT_CONCURRENCY = 64
LAG_PROBE_INTERVAL = 0.01


@dataclass(slots=True)
class StreamLog:
    index: int
    session: str = ""
    sent_at: float | None = None
    arrivals: list[float] = field(default_factory=list)  # reveals: frames that changed the answer
    end: str | None = None  # done, stopped, interrupted, error, cut, failed
    ended_at: float | None = None
    stream_id: str = ""
    error: str = ""
    bytes: int = 0  # payload of every frame of the stream, as the socket carried it

    def summary(self) -> dict[str, Any]:
        first = None if self.sent_at is None or not self.arrivals else self.arrivals[0] - self.sent_at
        gaps = [round((b - a) * 1000, 3) for a, b in zip(self.arrivals, self.arrivals[1:], strict=False)]
        return {"index": self.index, "end": self.end or "cut", "stream_id": self.stream_id, "error": self.error,
                "reveals": len(self.arrivals), "first_reveal_ms": None if first is None else round(first * 1000, 3),
                "gaps_ms": gaps, "bytes": self.bytes,
                "duration_ms": None if self.sent_at is None or self.ended_at is None
                else round((self.ended_at - self.sent_at) * 1000, 3)}


class _Socket(asyncio.Protocol):
    """One chat socket: websockets' protocol state machine fed straight from the transport."""

    def __init__(self, uri: str, origin: str, session: str, log: StreamLog, tracker: _Tracker) -> None:
        self.ws = ClientProtocol(parse_uri(uri), origin=Origin(origin), max_size=None)
        self.session = session
        self.log = log
        self.tracker = tracker
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.ended: asyncio.Future[None] = loop.create_future()
        self._parts: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        request = self.ws.connect()
        request.headers["Cookie"] = f"sessionid={self.session}"
        self.ws.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                self._handshake(event)
            elif isinstance(event, Frame):
                self._frame(event, now)
        self._flush()

    def eof_received(self) -> bool | None:
        self.ws.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"connection lost during the handshake: {exc}"))
        self._end("cut" if self.log.end is None else self.log.end, time.perf_counter())

    def send_text(self, text: str) -> None:
        self.ws.send_text(text.encode())
        self._flush()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _handshake(self, response: Response) -> None:
        if self.opened.done():
            return
        if self.ws.handshake_exc is not None:
            self.opened.set_exception(ConnectionError(f"handshake refused: {response.status_code}"))
        else:
            self.opened.set_result(None)

    def _frame(self, frame: Frame, now: float) -> None:
        if frame.opcode not in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            return  # pings are answered by the protocol itself
        self._parts.append(bytes(frame.data))
        if not frame.fin:
            return
        data, self._parts = b"".join(self._parts), []
        info = read_frame(data)
        log = self.log
        log.bytes += len(data)
        if info.stream_id and not log.stream_id:
            log.stream_id = info.stream_id
        if info.reveal:
            log.arrivals.append(now)
        if info.error and log.sent_at is not None and log.end is None:
            log.error = info.error
            if not log.stream_id:  # refused before it started: there will be no status
                self._end("error", now)
        if info.end_state:
            self._end(info.end_state, now)

    def _end(self, how: str, now: float) -> None:
        if self.log.end is None and self.log.sent_at is not None:
            self.log.end, self.log.ended_at = how, now
            self.tracker.stream_ended()
        if not self.ended.done():
            self.ended.set_result(None)

    def _flush(self) -> None:
        if self.transport is None:
            return
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                self.transport.write_eof()


class _Tracker:
    """Streams in flight, and the most there ever were."""

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0

    def stream_started(self) -> None:
        self.active += 1
        self.peak = max(self.peak, self.active)

    def stream_ended(self) -> None:
        self.active -= 1


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def _sessions(config: ClientConfig, logs: list[StreamLog], deadline: float) -> None:
    """A distinct session per client, as distinct browsers would have."""
    queue: asyncio.Queue[StreamLog] = asyncio.Queue()
    for log in logs:
        queue.put_nowait(log)

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=config.base_url, trust_env=False, timeout=30) as client:
            while not queue.empty() and time.monotonic() < deadline:
                log = queue.get_nowait()
                client.cookies.clear()  # a fresh visitor each time
                try:
                    response = await client.get("/")
                    log.session = response.cookies.get("sessionid") or ""
                except httpx.HTTPError as exc:
                    log.error = f"session: {exc!r}"
                if not log.session:
                    log.end = "failed"
                    log.error = log.error or "session: no sessionid cookie"

    await asyncio.gather(*(worker() for _ in range(min(SESSION_WORKERS, len(logs)))))


async def _lag_probe(samples: list[float], stop: asyncio.Event) -> None:
    """How late this process's own loop runs: lateness here is not the server's."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(LAG_PROBE_INTERVAL)
        samples.append(max(0.0, time.perf_counter() - before - LAG_PROBE_INTERVAL))


async def run(config: ClientConfig) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + config.duration
    logs = [StreamLog(i) for i in range(config.clients)]
    tracker = _Tracker()
    started = time.perf_counter()
    await _sessions(config, logs, deadline)
    sessions_done = time.perf_counter()

    parts = urlsplit(config.base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    connect_slots = asyncio.Semaphore(CONNECT_CONCURRENCY)
    lag: list[float] = []
    stop_probe = asyncio.Event()
    probe = asyncio.create_task(_lag_probe(lag, stop_probe))
    _emit({"event": "connecting"})
    sockets: list[_Socket] = []
    # Every socket is open before the first prompt goes, so the ramp spreads streams, not
    # handshakes (under load Daphne drops handshakes that take over 5 s).
    unopened = sum(1 for log in logs if log.end != "failed")
    all_open = asyncio.Event()
    ramp: dict[str, float] = {}

    def opened_one() -> None:
        nonlocal unopened
        unopened -= 1
        if unopened == 0:
            ramp["start"] = time.perf_counter()
            all_open.set()

    async def one(log: StreamLog) -> None:
        if log.end == "failed":
            return
        uri = f"ws://{host}:{port}{config.ws_path.format(widget=f'{config.widget_prefix}-{log.index}')}"
        sock = _Socket(uri, config.base_url, log.session, log, tracker)
        sockets.append(sock)
        try:
            async with connect_slots:
                await loop.create_connection(lambda: sock, host, port)
                await sock.opened
        except (OSError, ConnectionError) as exc:
            log.end, log.error = "failed", f"connect: {exc}"
            sock.close()
            return
        finally:
            opened_one()
        await all_open.wait()
        slot = ramp["start"] + config.ramp * log.index / max(1, config.clients)
        await asyncio.sleep(max(0.0, slot - time.perf_counter()))
        prompt = config.prompts[log.index % len(config.prompts)]
        log.sent_at = time.perf_counter()
        tracker.stream_started()
        sock.send_text(json.dumps({"action": "send", "prompt": prompt, "conversation": "",
                                   "upstream": config.upstream, "strategy": config.strategy,
                                   **({"figures": "1"} if config.figures else {})}))
        await sock.ended
        sock.close()

    tasks = [asyncio.create_task(one(log)) for log in logs]
    remaining = max(0.0, deadline - time.monotonic())
    _done, pending = await asyncio.wait(tasks, timeout=remaining)
    for task in pending:
        task.cancel()
    for sock in sockets:
        sock.close()
    finished = time.perf_counter()
    _emit({"event": "finished"})
    stop_probe.set()
    await asyncio.gather(*pending, probe, return_exceptions=True)
    for log in logs:
        if log.end is None:
            log.end = "cut" if log.sent_at is not None else "failed"
    return {
        "event": "result",
        "peak_concurrent": tracker.peak,
        "sessions_seconds": round(sessions_done - started, 3),
        "connect_seconds": round(ramp["start"] - sessions_done, 3) if "start" in ramp else None,
        "streaming_seconds": round(finished - ramp.get("start", sessions_done), 3),
        "loop_lag_ms": [round(x * 1000, 3) for x in lag],
        "streams": [log.summary() for log in logs],
    }


def main() -> None:
    raise_fd_limit()
    config = ClientConfig.from_json(sys.stdin.read())
    _emit(asyncio.run(run(config)))


if __name__ == "__main__":
    main()
