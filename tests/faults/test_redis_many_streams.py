"""Issue 9: with Redis, one process carries more streams than redis-py's connection pool holds.

Every follower used to block in its own XREAD on its own pooled connection; redis-py 8's
asyncio pool holds 100, so past ~100 concurrent streams a process failed the rest ("Too many
connections"). Followers of the streams a worker runs now read them from its memory.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.faults.conftest import Redis, daphne, final_state, frames_until, open_chat, send_frame, session_for
from tools.soak.hostile_llm import HostileLLMServer

pytestmark = pytest.mark.redis

STREAMS = 130  # past the pool's 100


async def test_a_process_on_redis_streams_past_the_connection_pool(
        tmp_path: Path, hostile: HostileLLMServer, redis: Redis) -> None:
    # The lag guard off: this counts connections, and 130 starts at once on a busy CI machine may run
    # the pacing clock late enough to refuse some as busy, which is that guard doing its job.
    server = daphne(tmp_path, hostile, env={"STREAMUI_REDIS_URL": redis.url, "STREAMUI_OVERLOAD_LAG_MS": "0"})
    try:
        sessions = [(await session_for(server.url))[0] for _ in range(STREAMS)]
        sockets = [await open_chat(server.url, session) for session in sessions]
        for ws in sockets:
            await ws.send(send_frame("SCN:steady:40:50"))  # ~2 s each: all running at once

        async def end_of(ws: object) -> str:
            frames = await frames_until(ws, final_state, 60)
            return str(frames[-1]["content"])

        ends = await asyncio.gather(*(end_of(ws) for ws in sockets))
        for ws in sockets:
            await ws.close()
        failed = [end for end in ends if 'data-state="done"' not in end]
        assert not failed, f"{len(failed)} of {STREAMS} streams did not end done: {failed[0][:300]}"
    finally:
        server.stop()
