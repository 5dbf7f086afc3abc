"""The SSE transport against hostile model text and abandoned streams, through a real Daphne.

Review 3.7 (bare CR forging `id:`/`event:` lines), 3.8/3.9 (lone and split surrogates lost the
answer and made the event stream loop), 5.6 (an SSE send whose events nobody opens ran for
ever), 6.4 (each SSE stream kept an OS thread and a SQLite connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
from pathlib import Path

import httpx

from tests.faults.conftest import FAST, daphne
from tools.soak.hostile_llm import HostileLLMServer

WIDGET = "su-wsse"
_CONNECT = re.compile(r'hx-sse:connect="([^"]+)"')


async def sse_send(client: httpx.AsyncClient, prompt: str) -> str:
    """POST the widget's form; the events URL it answers with."""
    if "csrftoken" not in client.cookies:
        await client.get("/")
    response = await client.post(f"/streamui/send/{WIDGET}/", data={
        "prompt": prompt, "conversation": "", "upstream": "openai", "strategy": "passthrough",
        "csrfmiddlewaretoken": client.cookies["csrftoken"]})
    assert response.status_code == 200, response.text[:300]
    return _CONNECT.search(response.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]


async def read_events(client: httpx.AsyncClient, url: str, timeout: float = 10) -> bytes:
    body = b""
    async with client.stream("GET", url, timeout=timeout) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_bytes():
            body += chunk
            if re.search(rb'data-state="(done|stopped|interrupted)"', body):
                return body
    return body


def field_lines(body: bytes) -> list[str]:
    """Every SSE line, split as the spec (and htmx) split them: at CR, LF or CRLF."""
    return re.split(r"\r\n|\r|\n", body.decode("utf-8", "replace"))


async def test_review_3_7_bare_cr_cannot_forge_sse_fields(tmp_path: Path, hostile: HostileLLMServer) -> None:
    server = daphne(tmp_path, hostile)
    try:
        async with httpx.AsyncClient(base_url=server.url, trust_env=False) as client:
            body = await asyncio.wait_for(read_events(client, await sse_send(client, "SCN:cr")), 15)
        lines = field_lines(body)
        ids = [line for line in lines if line.startswith("id:")]
        assert all(re.fullmatch(r"id: \d{1,4}", line) for line in ids), ids  # only our own sequence numbers
        assert not [line for line in lines if line.startswith(("event:", "retry: 9"))]
        assert all(line == "" or line.startswith(("data: ", "id: ", "retry: 1000", ":")) for line in lines), \
            [line for line in lines if not line.startswith(("data: ", "id: ", ":"))][:5]
        assert b'data-state="done"' in body
    finally:
        server.stop()


async def test_review_3_8_3_9_surrogates_are_repaired_and_the_answer_stored(
        tmp_path: Path, hostile: HostileLLMServer) -> None:
    server = daphne(tmp_path, hostile)
    try:
        async with httpx.AsyncClient(base_url=server.url, trust_env=False) as client:
            body = await asyncio.wait_for(read_events(client, await sse_send(client, "SCN:surrogate")), 15)
        assert b'data-state="done"' in body  # the event stream ends, it does not loop
        with sqlite3.connect(server.db) as conn:
            content, status = conn.execute("SELECT content, status FROM streamui_chatmessage "
                                           "WHERE role='assistant'").fetchone()
        assert status == "complete"
        assert content == "Smile \U0001F600 and a lone \ufffd done."  # the pair joined, the lone one replaced
    finally:
        server.stop()


async def test_review_5_6_an_sse_stream_nobody_opens_is_cancelled_after_the_grace(
        tmp_path: Path, hostile: HostileLLMServer) -> None:
    server = daphne(tmp_path, hostile)
    try:
        async with httpx.AsyncClient(base_url=server.url, trust_env=False) as client:
            await sse_send(client, "SCN:endless:20")
        gone = await asyncio.to_thread(hostile.wait_disconnected, 0, FAST["DISCONNECT_GRACE"] + 5)
        assert gone is not None, "the unfollowed stream kept generating"
    finally:
        server.stop()


def threads_and_db_fds(pid: int, db: Path) -> tuple[int, int]:
    threads = len(os.listdir(f"/proc/{pid}/task"))
    fds = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):  # an fd closed while we look
            fds += os.readlink(f"/proc/{pid}/fd/{fd}").startswith(str(db))
    return threads, fds


async def test_review_6_4_sse_streams_leave_no_thread_or_db_connection(
        tmp_path: Path, hostile: HostileLLMServer) -> None:
    server = daphne(tmp_path, hostile, settings={"MAX_STARTS_PER_MINUTE": 100, "MAX_CONCURRENT_STREAMS": 10})
    try:
        async with httpx.AsyncClient(base_url=server.url, trust_env=False) as client:
            body = await read_events(client, await sse_send(client, "SCN:steady:5:5"))  # warm up
            assert b'data-state="done"' in body
            before = threads_and_db_fds(server.pid, server.db)
            for _ in range(20):
                body = await read_events(client, await sse_send(client, "SCN:steady:5:5"))
                assert b'data-state="done"' in body
        await asyncio.sleep(0.5)
        after = threads_and_db_fds(server.pid, server.db)
        assert after[0] - before[0] <= 3, (before, after)  # was one thread per stream
        assert after[1] - before[1] <= 2, (before, after)  # was one SQLite connection per stream
    finally:
        server.stop()
