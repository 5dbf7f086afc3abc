"""Two Daphne processes with Redis, behind nginx: resume on the other process, Stop through it.

The client starts a stream on one process, drops its socket and reconnects to the other,
which replays the Redis journal from the client's last sequence number and follows it live;
Stop sent through the other process reaches the owning worker over the channel layer,
which cancels the generation and closes the upstream request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from streamui.testing.fake_server import FakeLLMServer, FakeLLMServerThread
from tests.support.processes import DaphneProcess, NginxProcess, start_daphne, start_nginx
from tests.support.redis import run_redis
from tools.loadgen.wire_reader import decode

pytestmark = [pytest.mark.redis, pytest.mark.nginx]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from run_redis(tmp_path_factory.mktemp("redis"))


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServerThread(profile="steady", speed=1.0) as server:
        yield server


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory, redis_url: str,
            fake_llm: FakeLLMServer) -> Iterator[tuple[DaphneProcess, DaphneProcess]]:
    shared = tmp_path_factory.mktemp("site")  # one database for both, as in production
    env = {"STREAMUI_REDIS_URL": redis_url, "STREAMUI_UPSTREAM_URL": fake_llm.base_url,
           "STREAMUI_UPSTREAM_MODEL": "steady", "DJANGO_DEBUG": "0"}
    first = start_daphne(shared, env=env)
    second = start_daphne(shared, env=env)
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture(scope="module")
def balancer(workers: tuple[DaphneProcess, DaphneProcess], tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[NginxProcess]:
    first, second = workers

    def both(site: str) -> str:
        return site.replace(f"server 127.0.0.1:{first.port};",
                            f"server 127.0.0.1:{first.port};\n    server 127.0.0.1:{second.port};")

    proxy = start_nginx(tmp_path_factory.mktemp("nginx"), upstream_port=first.port, edit_site=both)
    yield proxy
    proxy.stop()


async def session_for(url: str) -> str:
    async with httpx.AsyncClient(base_url=url, trust_env=False) as client:
        page = await client.get("/")
    assert page.status_code == 200
    return str(page.cookies["sessionid"])


async def open_chat(url: str, session: str, widget: str = "su-wmulti") -> ClientConnection:
    ws_url = url.replace("http://", "ws://")
    return await connect(f"{ws_url}/ws/streamui/chat/{widget}/", origin=url,  # type: ignore[arg-type]
                         additional_headers={"Cookie": f"sessionid={session}"}, proxy=None,
                         ping_interval=None, open_timeout=10)


async def journal_frames(ws: ClientConnection, *, until: str | None = None, count: int | None = None,
                         timeout: float = 20) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    while True:
        raw = await asyncio.wait_for(ws.recv(), timeout)
        frame = decode(raw, ws)
        if "seq" not in frame:
            continue
        frames.append(frame)
        if (until and until in frames[-1]["content"]) or (count and len(frames) >= count):
            return frames


def fake_record(fake: FakeLLMServer, index: int) -> Any:
    return fake.records[index]


async def test_resume_on_the_other_process_and_stop_through_it(
        workers: tuple[DaphneProcess, DaphneProcess], balancer: NginxProcess, fake_llm: FakeLLMServer) -> None:
    first, second = workers
    session = await session_for(first.url)  # sessions live in the shared database
    before = len(fake_llm.records)

    on_first = await open_chat(first.url, session)
    await on_first.send(json.dumps({"action": "send", "prompt": "Can a minor sue or be sued?", "conversation": "",
                                    "upstream": "openai", "strategy": "passthrough"}))
    frames = await journal_frames(on_first, count=8)
    stream_id = frames[0]["stream"]
    await on_first.close()  # the socket drops; the worker keeps generating (grace period)

    on_second = await open_chat(second.url, session)
    await on_second.send(json.dumps({"action": "resume", "stream": stream_id, "after": frames[-1]["seq"]}))
    rest = await journal_frames(on_second, count=5)
    seqs = [f["seq"] for f in frames + rest]
    assert seqs == list(range(1, len(seqs) + 1))  # nothing lost, nothing twice
    assert all(f["stream"] == stream_id for f in rest)

    await on_second.send(json.dumps({"action": "stop"}))
    final = await journal_frames(on_second, until='data-state="stopped"')
    await on_second.close()
    record = fake_record(fake_llm, before)
    for _ in range(50):
        if record.disconnected_at is not None:
            break
        await asyncio.sleep(0.05)
    assert record.disconnected_at is not None, "the owning worker did not cancel the upstream"
    assert record.tokens_after_disconnect <= 1
    assert 'data-status="stopped"' in final[-1]["content"]


async def test_through_nginx_a_reconnect_resumes_wherever_it_lands(balancer: NginxProcess) -> None:
    session = await session_for(balancer.url)
    chat = await open_chat(balancer.url, session)
    await chat.send(json.dumps({"action": "send", "prompt": "What is the capital of France?", "conversation": "",
                                "upstream": "simulated:steady", "strategy": "adaptive"}))
    frames = await journal_frames(chat, count=4)
    await chat.close()
    for _ in range(2):  # nginx alternates workers: one of these lands on the other process
        chat = await open_chat(balancer.url, session)
        await chat.send(json.dumps({"action": "resume", "stream": frames[0]["stream"], "after": frames[-1]["seq"]}))
        more = await journal_frames(chat, count=2)
        assert more[0]["seq"] == frames[-1]["seq"] + 1
        frames += more
        await chat.close()
    chat = await open_chat(balancer.url, session)
    await chat.send(json.dumps({"action": "resume", "stream": frames[0]["stream"], "after": frames[-1]["seq"]}))
    rest = await journal_frames(chat, until='data-streamui="status"', timeout=60)
    while 'data-state="streaming"' in rest[-1]["content"] or "data-state" not in rest[-1]["content"]:
        rest += await journal_frames(chat, until='data-streamui="status"', timeout=60)
    await chat.close()
    seqs = [f["seq"] for f in frames + rest]
    assert seqs == list(range(1, len(seqs) + 1))
