"""Limits an anonymous client cannot get around, through a real Daphne and real sockets.

Review 2.10 (15 sends at once from one session vs a limit of 3), 2.11 (sessions minted per
GET, capped per address), 1.10 (Origin on another port or scheme), 4.12 (an upstream that
never stops), 2.7 (a frame flood), 2.9 (sockets per session), 2.6 (`new` flood), 4.11
(history sent upstream), 1.12 (the public dashboard names others' streams), 2.14 (fake timings).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.faults.conftest import Redis, daphne, final_state, frames_until, open_chat, send_frame, session_for
from tools.loadgen.wire_reader import decode
from tools.soak.hostile_llm import HostileLLMServer


async def test_review_2_10_2_11_admission_is_atomic_per_session_and_per_address(
        tmp_path: Path, hostile: HostileLLMServer) -> None:
    # As deployed behind nginx: Daphne takes the client address from X-Forwarded-For.
    server = daphne(tmp_path, hostile, settings={"MAX_SOCKETS_PER_SESSION": 100, "MAX_CONCURRENT_PER_ADDRESS": 5,
                                                 "DISCONNECT_GRACE": 30}, args=("--proxy-headers",))
    try:
        session, _ = await session_for(server.url)
        sockets = [await open_chat(server.url, session, widget=f"su-wc{i}", forwarded_for="203.0.113.7")
                   for i in range(15)]
        await asyncio.gather(*(ws.send(send_frame("SCN:endless:50")) for ws in sockets))
        await asyncio.sleep(2)
        assert len(hostile.records) <= 3, f"{len(hostile.records)} upstream requests for one session (limit 3)"
        # 2.11: fresh sessions from the same address share the address's limit of 5.
        others = []
        for i in range(6):
            fresh, _ = await session_for(server.url)
            ws = await open_chat(server.url, fresh, widget=f"su-wa{i}", forwarded_for="203.0.113.7")
            await ws.send(send_frame("SCN:endless:50"))
            others.append(ws)
        await asyncio.sleep(2)
        assert len(hostile.records) <= 5, f"{len(hostile.records)} upstream requests from one address (limit 5)"
        await asyncio.gather(*(ws.close() for ws in sockets + others))
    finally:
        server.stop()


async def test_review_1_10_origin_must_match_scheme_host_and_port(tmp_path: Path,
                                                                 hostile: HostileLLMServer) -> None:
    server = daphne(tmp_path, hostile)
    try:
        session, _ = await session_for(server.url)
        for origin in (f"http://127.0.0.1:{server.port + 1}", "https://127.0.0.1", f"https://127.0.0.1:{server.port}"):
            with pytest.raises((InvalidStatus, ConnectionClosed)):
                ws = await open_chat(server.url, session, origin=origin)
                await ws.send(send_frame("SCN:steady:3:1"))
                await asyncio.wait_for(ws.recv(), 5)
        ws = await open_chat(server.url, session)  # the page's own origin still works
        await ws.send(send_frame("SCN:steady:3:1"))
        await frames_until(ws, final_state, 10)
        await ws.close()
    finally:
        server.stop()


async def test_review_4_12_a_never_ending_upstream_is_cut_off_locally(tmp_path: Path,
                                                                      hostile: HostileLLMServer) -> None:
    server = daphne(tmp_path, hostile, env={"STREAMUI_MAX_TOKENS": "60"})
    try:
        session, _ = await session_for(server.url)
        ws = await open_chat(server.url, session)
        await ws.send(send_frame("SCN:endless:5"))
        frames = await frames_until(ws, final_state, 15)
        assert 'data-state="interrupted"' in frames[-1]["content"]
        assert "cut off" in frames[-1]["content"]
        assert await asyncio.to_thread(hostile.wait_disconnected, 0, 3) is not None
        assert hostile.records[0].chunks <= 60 * 3  # one word is 1-3 tokens
        await ws.close()
    finally:
        server.stop()


async def test_review_2_7_a_frame_flood_closes_the_socket(tmp_path: Path, hostile: HostileLLMServer) -> None:
    server = daphne(tmp_path, hostile)
    try:
        session, _ = await session_for(server.url)
        ws = await open_chat(server.url, session)
        # Small frames: the flood is of frames, and a client still writing megabytes when the server
        # gives up on the closing handshake gets a reset that can discard the close frame unread.
        junk = json.dumps({"action": "timing", "stream": "x", "timings": {"marks": [1.0] * 50}})
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(2000):
                await ws.send(junk)
            await asyncio.wait_for(ws.recv(), 5)
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4029
    finally:
        server.stop()


async def test_review_2_9_2_6_sockets_and_new_conversations_are_capped(
        tmp_path: Path, hostile: HostileLLMServer) -> None:
    server = daphne(tmp_path, hostile, settings={"MAX_SOCKETS_PER_SESSION": 4, "MAX_NEW_PER_MINUTE": 3,
                                                 "MAX_FRAMES_PER_SECOND": 1000})
    try:
        session, _ = await session_for(server.url)
        open_ = [await open_chat(server.url, session, widget=f"su-ws{i}") for i in range(4)]
        with pytest.raises((InvalidStatus, ConnectionClosed)):
            extra = await open_chat(server.url, session, widget="su-wsx")
            await asyncio.wait_for(extra.recv(), 5)
        ws = open_[0]
        for _ in range(10):
            await ws.send(json.dumps({"action": "new"}))
        replies = [decode(await asyncio.wait_for(ws.recv(), 5), ws)["content"] for _ in range(10)]
        assert sum("Too many new conversations" in r for r in replies) == 7
        for s in open_:
            await s.close()
    finally:
        server.stop()
    import sqlite3

    with sqlite3.connect(server.db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM streamui_conversation").fetchone()[0] <= 3


async def test_review_4_11_history_sent_upstream_is_bounded_by_tokens(
        tmp_path: Path, hostile: HostileLLMServer) -> None:
    server = daphne(tmp_path, hostile, settings={"HISTORY_MAX_TOKENS": 200}, env={"STREAMUI_MAX_TOKENS": "4000"})
    try:
        session, _ = await session_for(server.url)
        ws = await open_chat(server.url, session)
        await ws.send(send_frame("SCN:steady:600:1"))
        frames = await frames_until(ws, final_state, 30)
        conversation = next(f["content"] for f in frames if "-conversation" in f["content"])
        public_id = conversation.split('value="')[1].split('"')[0]
        await ws.send(send_frame("SCN:steady:3:1", conversation=public_id))
        await frames_until(ws, final_state, 10)
        await ws.close()
    finally:
        server.stop()
    first, second = hostile.records[0], hostile.records[1]
    assert len(second.messages) >= 3  # system, the earlier turns, the new prompt
    history = second.messages[1:-1]
    assert sum(len(str(m["content"])) for m in history) < 200 * 8, "the whole long answer went upstream again"
    assert first.chunks >= 600 and sum(len(str(m["content"])) for m in second.messages) > 0


async def test_review_1_12_2_14_dashboard_names_only_your_streams_and_refuses_fake_timings(
        tmp_path: Path, hostile: HostileLLMServer) -> None:
    server = daphne(tmp_path, hostile)
    try:
        a, _ = await session_for(server.url)
        ws = await open_chat(server.url, a)
        await ws.send(send_frame("SCN:steady:20:5"))
        frames = await frames_until(ws, final_state, 10)
        stream_id = next(f["stream"] for f in frames if "stream" in f)
        await ws.send(json.dumps({"action": "timing", "stream": stream_id,
                                  "timings": {"marks": [i * 60000.0 for i in range(50)]}}))
        refused = decode(await asyncio.wait_for(ws.recv(), 5), ws)["content"]
        assert "timing marks" in refused
        await ws.close()
        b, _ = await session_for(server.url)
        async with httpx.AsyncClient(base_url=server.url, trust_env=False) as client:
            as_b = await client.get("/streamui/dashboard/", cookies={"sessionid": b})
            by_id = await client.get(f"/streamui/dashboard/?stream={stream_id}", cookies={"sessionid": b})
            as_a = await client.get("/streamui/dashboard/", cookies={"sessionid": a})
        assert as_b.status_code == 200 and stream_id not in as_b.text and stream_id not in by_id.text
        assert stream_id in as_a.text  # the owner still sees their own
    finally:
        server.stop()


async def test_review_2_15_rejected_frames_are_logged_sparingly(tmp_path: Path, hostile: HostileLLMServer) -> None:
    server = daphne(tmp_path, hostile, settings={"MAX_FRAMES_PER_SECOND": 1e6})
    try:
        session, _ = await session_for(server.url)
        ws = await open_chat(server.url, session)
        for i in range(300):
            await ws.send(f"not json {i}")
        for _ in range(300):
            await asyncio.wait_for(ws.recv(), 10)  # every frame still gets its error reply
        await ws.close()
        lines = server.log_tail(400_000).count("rejected message")
        assert lines <= 10, f"{lines} log lines for 300 rejected frames"
    finally:
        server.stop()


@pytest.mark.redis
async def test_review_2_10_admission_holds_across_workers_with_redis(
        tmp_path: Path, hostile: HostileLLMServer, redis: Redis) -> None:
    env = {"STREAMUI_REDIS_URL": redis.url}
    settings = {"MAX_SOCKETS_PER_SESSION": 100, "DISCONNECT_GRACE": 30}
    first, second = daphne(tmp_path, hostile, settings, env), daphne(tmp_path, hostile, settings, env)
    try:
        session, _ = await session_for(first.url)
        sockets = [await open_chat((first if i % 2 else second).url, session, widget=f"su-wr{i}") for i in range(12)]
        await asyncio.gather(*(ws.send(send_frame("SCN:endless:50")) for ws in sockets))
        await asyncio.sleep(2)
        assert len(hostile.records) <= 3, f"{len(hostile.records)} upstream requests over two workers (limit 3)"
        await asyncio.gather(*(ws.close() for ws in sockets))
    finally:
        first.stop()
        second.stop()
