"""Real processes for the fault tests (review reliability-security-2026-12): Daphne under
tests.support.fault_settings, the hostile upstream in a thread, redis-server on a port we can
kill and restart. Each test sets short grace/lease/persist settings so it takes seconds."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.support.processes import DaphneProcess, require_program, start_daphne
from tools.loadgen.server import free_port, stop_process, wait_for_port
from tools.loadgen.wire_reader import decode
from tools.soak.hostile_llm import HostileLLMServer, HostileLLMThread

FAST = {"DISCONNECT_GRACE": 1.0, "STREAM_LEASE": 1.5, "PERSIST_INTERVAL": 0.5}
WORD = re.compile(r"\bw(\d+)\b")


@pytest.fixture
def hostile() -> Iterator[HostileLLMServer]:
    with HostileLLMThread() as server:
        yield server


def daphne(workdir: Path, upstream: HostileLLMServer, settings: dict[str, Any] | None = None,
           env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> DaphneProcess:
    return start_daphne(workdir, args=args, env={
        "DJANGO_SETTINGS_MODULE": "tests.support.fault_settings",
        "STREAMUI_TEST_SETTINGS": json.dumps({**FAST, **(settings or {})}),
        "STREAMUI_UPSTREAM_URL": upstream.base_url, "STREAMUI_UPSTREAM_MODEL": "hostile",
        "DJANGO_DEBUG": "0", **(env or {})})


def kill9(server: DaphneProcess) -> None:
    os.kill(server.pid, signal.SIGKILL)
    server.proc.wait(10)
    server.stop()  # closes the log


class Redis:
    """redis-server on a fixed free port, so it can be killed and started again at the same URL."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log = (self.workdir / "redis.log").open("ab")
        self.proc = subprocess.Popen([require_program("redis-server", ("/usr/bin/redis-server",)), "--port",
                                      str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                      "--dir", str(self.workdir)], stdout=self._log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, timeout=15)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, self._log)
            self._log = None


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    server = Redis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


async def session_for(url: str) -> tuple[str, str]:
    """(session cookie, csrf token) from the page, as a browser gets them."""
    async with httpx.AsyncClient(base_url=url, trust_env=False) as client:
        page = await client.get("/")
    assert page.status_code == 200
    return str(page.cookies["sessionid"]), str(page.cookies.get("csrftoken", ""))


async def open_chat(url: str, session: str, widget: str = "su-wfault", origin: str | None = None,
                    forwarded_for: str = "") -> ClientConnection:
    ws_url = url.replace("http://", "ws://")
    headers = {"Cookie": f"sessionid={session}"} | ({"X-Forwarded-For": forwarded_for} if forwarded_for else {})
    return await connect(f"{ws_url}/ws/streamui/chat/{widget}/", origin=origin or url,  # type: ignore[arg-type]
                         additional_headers=headers, proxy=None,
                         ping_interval=None, open_timeout=10, max_size=None)


def send_frame(prompt: str, **extra: Any) -> str:
    return json.dumps({"action": "send", "prompt": prompt, "conversation": "", "upstream": "openai",
                       "strategy": "passthrough", **extra})


async def frames_until(ws: ClientConnection, predicate: Any, timeout: float) -> list[dict[str, Any]]:
    """Frames until one satisfies `predicate`; TimeoutError if none does in time."""
    frames: list[dict[str, Any]] = []

    async def read() -> None:
        while True:
            frames.append(decode(await ws.recv(), ws))
            if predicate(frames[-1]):
                return

    await asyncio.wait_for(read(), timeout)
    return frames


def final_state(frame: dict[str, Any]) -> bool:
    return bool(re.search(r'data-state="(done|stopped|interrupted)"', frame.get("content", "")))


def max_word(text: str) -> int:
    return max((int(n) for n in WORD.findall(text)), default=-1)
