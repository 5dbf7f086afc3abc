"""The soak run: N streams at once for a bounded time against two real Daphne workers sharing
Redis, with faults injected, then a table: what started, completed, was interrupted (and why),
characters shown vs stored, and RSS / fds / threads of the worker that was never killed.

Loopback only: the hostile upstream runs in a thread on port 0; redis-server and the Daphne
processes get free ports and are stopped by PID at the end.

Faults, in turn, every `fault_every` seconds:
- `kill`: SIGKILL the second worker mid-stream, start it again on the same database;
- `redis`: SIGKILL redis-server, start it again on the same port a second later;
- `hostile`: one client floods junk and oversized frames and asks for replays it never reads.
"""

from __future__ import annotations

import asyncio
import html as html_lib
import json
import os
import random
import re
import signal
import sqlite3
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

from tools.loadgen.frames import read_frame
from tools.loadgen.oob_dom import Page
from tools.loadgen.server import DaphneProcess, proc_stat, start_daphne
from tools.loadgen.wire_reader import FrameReader
from tools.soak.hostile_llm import HostileLLMThread

_TAG = re.compile(r"<[^>]+>")


def visible_text(html: str) -> str:
    return " ".join(html_lib.unescape(_TAG.sub(" ", html)).split())


class ShownAnswer:
    """What a browser would show: the widget's elements with every frame applied as streamui.js and
    htmx apply them (compact operations decoded by tools.loadgen.wire_reader, the swaps by
    tools.loadgen.oob_dom), across the sockets that followed the stream."""

    def __init__(self, widget: str) -> None:
        self.widget = widget
        self.page = Page(*(f"{widget}-{part}" for part in ("log", "status", "error", "conversation", "figures")))
        self.reader = FrameReader(widget_id=widget)

    def new_socket(self) -> None:
        """A resume on a new socket: the server starts its compact state over, the page stays."""
        self.reader = FrameReader(seq=self.reader.seq, figures_id=self.reader.figures_id, widget_id=self.widget)

    def apply(self, raw: str | bytes) -> dict[str, Any]:
        frame = self.reader.read(raw)
        if frame.get("content"):
            self.page.apply_frame(str(frame["content"]))
        return frame

    @property
    def text(self) -> str:
        outputs = [e for e in self.page.body.walk() if e.attrs.get("data-streamui") == "output"]
        return " ".join(" ".join(e.text() for e in outputs).split())


@dataclass(slots=True)
class Report:
    started: int = 0
    completed: int = 0
    interrupted: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    shown_chars: int = 0
    stored_chars: int = 0
    crash_streams: int = 0
    crash_shown_chars: int = 0
    crash_stored_chars: int = 0
    mismatches: list[str] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)


def process_figures(pid: int) -> dict[str, float]:
    return {"rss_mb": proc_stat(pid).rss_bytes / 2**20, "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "threads": len(os.listdir(f"/proc/{pid}/task"))}


class Soak:
    def __init__(self, *, seconds: float, concurrency: int, fault_every: float, workdir: Path) -> None:
        self.seconds, self.concurrency, self.fault_every, self.workdir = seconds, concurrency, fault_every, workdir
        self.report = Report()
        self.workers: list[DaphneProcess] = []
        self.redis_proc: Any = None
        self.redis_port = 0
        self._env: dict[str, str] = {}
        self._killed_streams: set[str] = set()
        self._active: dict[str, int] = {}  # stream id -> worker index

    # --- processes ------------------------------------------------------------------------

    def _start_redis(self) -> None:
        import subprocess

        from tools.loadgen.server import free_port, wait_for_port

        self.redis_port = self.redis_port or free_port()
        log = (self.workdir / "redis.log").open("ab")
        self.redis_proc = subprocess.Popen(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                            "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                                           stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.redis_port, timeout=15)

    def _kill_redis(self) -> None:
        if self.redis_proc is not None and self.redis_proc.poll() is None:
            self.redis_proc.send_signal(signal.SIGKILL)
            self.redis_proc.wait(10)

    def _start_worker(self) -> DaphneProcess:
        return start_daphne(self.workdir, env=self._env)

    # --- clients --------------------------------------------------------------------------

    async def _session(self, url: str) -> str:
        async with httpx.AsyncClient(base_url=url, trust_env=False) as client:
            return str((await client.get("/")).cookies["sessionid"])

    async def _one_stream(self, rng: random.Random) -> None:
        index = rng.randrange(len(self.workers))
        worker = self.workers[index]
        url = worker.url
        session = await self._session(url)
        widget = f"su-wsoak{rng.randrange(10**6)}"
        async with connect(url.replace("http", "ws", 1) + f"/ws/streamui/chat/{widget}/",
                           origin=url, additional_headers={"Cookie": f"sessionid={session}"},  # type: ignore[arg-type]
                           proxy=None, ping_interval=None, max_size=None, open_timeout=10) as ws:
            words = rng.randrange(20, 200)
            prompt = f"SCN:steady:{words}:15"
            await ws.send(json.dumps({"action": "send", "prompt": prompt, "conversation": "",
                                      "upstream": "openai", "strategy": "passthrough"}))
            shown, stream_id, last, final = ShownAnswer(widget), "", 0, ""
            shown.reader.sent_prompt = prompt  # the turn frame leaves it out
            try:
                while not final:
                    raw = await asyncio.wait_for(ws.recv(), 20)
                    frame, info = shown.apply(raw), read_frame(raw)
                    if frame.get("seq") is not None:
                        if not stream_id:
                            stream_id = str(frame["stream"])
                            self.report.started += 1
                            self._active[stream_id] = index
                        last = int(frame["seq"])
                    if info.end_state and frame.get("seq") is not None:
                        final = info.end_state
                    elif not stream_id and info.error:
                        self.report.refused[visible_text(info.error)[:60]] += 1
                        return
            except Exception:
                if not stream_id:
                    return
                final = await self._resume_elsewhere(stream_id, session, last, shown)
            finally:
                self._active.pop(stream_id, None)
        self._record(stream_id, final, shown)

    async def _resume_elsewhere(self, stream_id: str, session: str, last: int, shown: ShownAnswer) -> str:
        self._killed_streams.add(stream_id)
        for _ in range(20):
            worker = self.workers[0]
            try:
                async with connect(worker.url.replace("http", "ws", 1) + f"/ws/streamui/chat/{shown.widget}/",
                                   origin=worker.url, additional_headers={"Cookie": f"sessionid={session}"},
                                   proxy=None, ping_interval=None, max_size=None, open_timeout=10) as ws:
                    shown.new_socket()
                    await ws.send(json.dumps({"action": "resume", "stream": stream_id, "after": last}))
                    while True:
                        raw = await asyncio.wait_for(ws.recv(), 20)
                        frame, info = shown.apply(raw), read_frame(raw)
                        if frame.get("seq") is not None:
                            last = int(frame["seq"])
                        if info.end_state:
                            return info.end_state
            except Exception:
                await asyncio.sleep(0.5)
        return "lost"

    def _record(self, stream_id: str, final: str, shown: ShownAnswer) -> None:
        with sqlite3.connect(self.workers[0].db, timeout=20) as conn:
            row = conn.execute("SELECT m.content, m.status, m.error FROM streamui_streamrecord r JOIN "
                               "streamui_chatmessage m ON m.id = r.message_id WHERE r.stream_id = ?",
                               (stream_id,)).fetchone()
        content, status, error = row or ("", "missing", "no record")
        stored, seen = " ".join(content.split()), shown.text
        if status == "complete":
            self.report.completed += 1
        else:
            self.report.interrupted[(error or status)[:70]] += 1
        if stream_id in self._killed_streams:
            self.report.crash_streams += 1
            self.report.crash_shown_chars += len(seen)
            self.report.crash_stored_chars += len(stored)
            return
        self.report.shown_chars += len(seen)
        self.report.stored_chars += len(stored)
        if seen != stored:
            self.report.mismatches.append(f"{stream_id}: shown {len(seen)} stored {len(stored)} ({status})")

    async def _client(self, seed: int, deadline: float) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            try:
                await self._one_stream(rng)
            except Exception:
                await asyncio.sleep(0.3)

    # --- faults ---------------------------------------------------------------------------

    async def _faults(self, deadline: float) -> None:
        if self.fault_every <= 0:
            return  # a clean run: the memory baseline (review 6.5)
        kinds = ["kill", "redis", "hostile"]
        turn = 0
        while time.monotonic() + self.fault_every < deadline:
            await asyncio.sleep(self.fault_every)
            kind = kinds[turn % len(kinds)]
            turn += 1
            self.report.faults[kind] += 1
            if kind == "kill":
                victim = self.workers[1]
                os.kill(victim.pid, signal.SIGKILL)
                victim.proc.wait(10)
                victim.stop()
                self.workers[1] = await asyncio.to_thread(self._start_worker)
            elif kind == "redis":
                self._kill_redis()
                await asyncio.sleep(1.0)
                self._start_redis()
            else:
                await self._hostile_client()

    async def _hostile_client(self) -> None:
        url = self.workers[0].url
        session = await self._session(url)
        try:
            async with connect(url.replace("http", "ws", 1) + "/ws/streamui/chat/su-whostile/", origin=url,
                               additional_headers={"Cookie": f"sessionid={session}"}, proxy=None,
                               ping_interval=None, max_size=None, open_timeout=10) as ws:
                junk = json.dumps({"action": "timing", "stream": "x", "timings": {"marks": [1.0] * 6000}})
                for _ in range(300):
                    await ws.send(junk)
                await asyncio.sleep(1)
        except Exception:
            pass

    # --- the run --------------------------------------------------------------------------

    async def run(self) -> Report:
        with HostileLLMThread() as upstream:
            self._start_redis()
            self._env = {
                "DJANGO_SETTINGS_MODULE": "tests.support.fault_settings",
                "STREAMUI_TEST_SETTINGS": json.dumps({"DISCONNECT_GRACE": 2.0, "STREAM_LEASE": 2.0,
                                                      "PERSIST_INTERVAL": 0.5, "JOURNAL_RETAIN_SECONDS": 2.0,
                                                      "MAX_STARTS_PER_MINUTE": 10_000,
                                                      "MAX_CONCURRENT_PER_ADDRESS": 1000}),
                "STREAMUI_UPSTREAM_URL": upstream.base_url, "STREAMUI_UPSTREAM_MODEL": "hostile",
                "STREAMUI_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0", "DJANGO_DEBUG": "0",
                "STREAMUI_LOG_LEVEL": "WARNING",
            }
            try:
                self.workers = [self._start_worker(), self._start_worker()]
                # Warm up (imports, connection pools, caches) before the baseline, then forget it.
                await asyncio.gather(*(self._client(1000 + i, time.monotonic() + 3) for i in range(self.concurrency)))
                self.report = Report()
                await asyncio.sleep(4)
                self.report.before = process_figures(self.workers[0].pid)
                deadline = time.monotonic() + self.seconds
                await asyncio.gather(self._faults(deadline),
                                     *(self._client(i, deadline) for i in range(self.concurrency)))
                await asyncio.sleep(4)  # grace, leases and journal retention run out
                self.report.after = process_figures(self.workers[0].pid)
            finally:
                for worker in self.workers:
                    worker.stop()
                self._kill_redis()
        return self.report


def format_report(report: Report, seconds: float) -> str:
    def row(name: str, value: object) -> str:
        return f"| {name} | {value} |"

    lines = ["| measure | value |", "|---|---|", row("run", f"{seconds:.0f} s"),
             row("faults injected", ", ".join(f"{k} ×{v}" for k, v in sorted(report.faults.items())) or "none"),
             row("streams started", report.started), row("completed", report.completed)]
    for reason, n in report.interrupted.most_common():
        lines.append(row(f"interrupted: {reason}", n))
    for reason, n in report.refused.most_common():
        lines.append(row(f"refused before start: {reason}", n))
    lines += [row("chars shown / stored (no crash)", f"{report.shown_chars} / {report.stored_chars}"),
              row("streams whose worker was killed", report.crash_streams),
              row("chars shown / stored (killed worker)", f"{report.crash_shown_chars} / {report.crash_stored_chars}"),
              row("mismatches (no crash)", len(report.mismatches))]
    for key in ("rss_mb", "fds", "threads"):
        lines.append(row(f"{key} before → after (worker 1)",
                         f"{report.before.get(key, 0):.0f} → {report.after.get(key, 0):.0f}"))
    lines += [f"  {m}" for m in report.mismatches[:10]]
    return "\n".join(lines)


def run_soak(seconds: float = 60.0, concurrency: int = 6, fault_every: float = 12.0) -> tuple[Report, str]:
    with tempfile.TemporaryDirectory(prefix="streamui-soak-") as tmp:
        report = asyncio.run(Soak(seconds=seconds, concurrency=concurrency, fault_every=fault_every,
                                  workdir=Path(tmp)).run())
    return report, format_report(report, seconds)


__all__ = ["Report", "ShownAnswer", "Soak", "format_report", "run_soak", "visible_text"]
