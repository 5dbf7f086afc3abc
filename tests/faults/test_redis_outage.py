"""Review 4.4, 4.5, 4.6: redis-server killed mid-stream, prompts while it is down, and after it returns.

The widget must get a clear interrupted state with Retry, the upstream must be cancelled (no
tokens billed that nobody sees), no admission slot may leak, and the first prompt after Redis
is back must stream.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.faults.conftest import Redis, daphne, final_state, frames_until, open_chat, send_frame, session_for
from tools.soak.hostile_llm import HostileLLMServer

pytestmark = pytest.mark.redis


async def test_review_4_4_to_4_6_redis_outage_interrupts_cancels_and_recovers(
        tmp_path: Path, hostile: HostileLLMServer, redis: Redis) -> None:
    server = daphne(tmp_path, hostile, settings={"MAX_CONCURRENT_STREAMS": 1},
                    env={"STREAMUI_REDIS_URL": redis.url})
    try:
        session, _ = await session_for(server.url)
        ws = await open_chat(server.url, session)
        await ws.send(send_frame("SCN:endless:20"))
        await frames_until(ws, lambda f: f.get("seq", 0) >= 5, 10)

        redis.kill()
        killed = time.time()
        # 4.4: the widget is told, with Retry, and the upstream is closed.
        frames = await frames_until(ws, final_state, 8)
        end = frames[-1]["content"] if 'data-state="interrupted"' in frames[-1]["content"] else ""
        text = "".join(f["content"] for f in frames)
        assert 'data-state="interrupted"' in text, end
        assert 'data-streamui="retry"' in text and "SCN:endless" in text
        gone = await asyncio.to_thread(hostile.wait_disconnected, 0, 5)
        assert gone is not None and gone - killed < 5, "the upstream kept generating with Redis down"

        # 4.5: a prompt while Redis is down gets a message; the socket stays open.
        await ws.send(send_frame("SCN:steady:10:10"))
        reply = await frames_until(ws, lambda f: 'data-streamui="error"' in f["content"]
                                   and "streamui-error" in f["content"] and "</div>" in f["content"]
                                   and len(f["content"]) > 120, 10)
        assert "try again" in reply[-1]["content"]

        # 4.6: Redis back: the first prompt streams (the failed start left no slot taken,
        # although the limit is 1 stream at a time).
        redis.start()
        await asyncio.sleep(0.5)
        await ws.send(send_frame("SCN:steady:10:10"))
        done = await frames_until(ws, final_state, 15)
        assert 'data-state="done"' in done[-1]["content"], [f["content"][:200] for f in done[-3:]]
        await ws.close()
    finally:
        server.stop()
