"""Review 4.10 (one frame over the 1 MiB WebSocket limit killed the follower silently) and 2.8
(resumes nobody reads buffered whole journal copies), through a real Daphne."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tests.faults.conftest import daphne, final_state, frames_until, open_chat, send_frame, session_for
from tools.loadgen.server import proc_stat
from tools.soak.hostile_llm import HostileLLMServer

BIG = {"MAX_ANSWER_CHARS": 3_000_000}


async def test_review_4_10_a_frame_over_the_limit_does_not_freeze_the_widget(
        tmp_path: Path, hostile: HostileLLMServer) -> None:
    server = daphne(tmp_path, hostile, settings=BIG, env={"STREAMUI_MAX_TOKENS": "400000"})
    try:
        session, _ = await session_for(server.url)
        ws = await open_chat(server.url, session)
        await ws.send(send_frame("SCN:bigchunk:1100"))
        frames = await frames_until(ws, final_state, 30)
        assert 'data-state="done"' in frames[-1]["content"]
        assert all(len(json.dumps(f)) < 1024 * 1024 for f in frames)
        assert any("the end." in f["content"] for f in frames)  # the rest of the answer still shows live
        await ws.close()
    finally:
        server.stop()


async def test_review_2_8_a_client_that_never_reads_its_replays_is_disconnected(
        tmp_path: Path, hostile: HostileLLMServer) -> None:
    server = daphne(tmp_path, hostile, settings={**BIG, "MAX_UNREAD_BYTES": 8 * 1024 * 1024},
                    env={"STREAMUI_MAX_TOKENS": "400000"})
    try:
        session, _ = await session_for(server.url)
        ws = await open_chat(server.url, session)
        await ws.send(send_frame("SCN:bigchunk:400"))
        frames = await frames_until(ws, final_state, 30)
        stream_id = next(f["stream"] for f in frames if "stream" in f)
        await ws.close()
        rss_before = proc_stat(server.pid).rss_bytes
        reader = await open_chat(server.url, session, widget="su-wslow")
        resume = json.dumps({"action": "resume", "stream": stream_id, "after": 0})
        with pytest.raises(ConnectionClosed):
            for _ in range(38):  # within the frame rate limit's burst
                await reader.send(resume)
            await asyncio.sleep(3)  # never read
            while True:
                await asyncio.wait_for(reader.recv(), 5)
        assert "client is not reading" in server.log_tail(20000)  # closed by the send budget (code 4009)
        grown = proc_stat(server.pid).rss_bytes - rss_before
        assert grown < 60 * 1024 * 1024, f"RSS grew {grown / 2**20:.0f} MiB"  # was ≈ one journal copy per resume
    finally:
        server.stop()
