"""The Redis Streams journal against a real redis-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from streamui.journal import Entry
from streamui.journal_redis import RedisJournal

from .support.redis import run_redis

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from run_redis(tmp_path_factory.mktemp("redis"))


@pytest.fixture
async def journal(redis_url: str) -> AsyncIterator[RedisJournal]:
    j = RedisJournal(redis_url, block_ms=200)
    yield j
    await j.close()


async def test_replay_and_follow_by_sequence(journal: RedisJournal) -> None:
    for seq in range(1, 4):
        await journal.append("s1", Entry(seq, html=f"<p>{seq}</p>"))
    assert await journal.last_seq("s1") == 3

    async def follower(after: int) -> list[int]:
        return [e.seq async for e in journal.follow("s1", after)]

    task = asyncio.create_task(follower(1))
    await asyncio.sleep(0.1)
    await journal.append("s1", Entry(4, html="<p>4</p>", figures={"shown": "4"}))
    await journal.append("s1", Entry(5, state="done"))
    assert await asyncio.wait_for(task, 5) == [2, 3, 4, 5]
    replay = [e async for e in journal.follow("s1", 3)]
    assert replay[0] == Entry(4, html="<p>4</p>", figures={"shown": "4"}) and replay[-1].final


async def test_meta_is_a_lease(journal: RedisJournal) -> None:
    await journal.set_meta("s2", {"owner": "session:a", "worker": "w1"}, ttl=0.3)
    assert await journal.get_meta("s2") == {"owner": "session:a", "worker": "w1"}
    await asyncio.sleep(0.5)
    assert await journal.get_meta("s2") is None


async def test_the_cap_trims_old_entries(redis_url: str) -> None:
    journal = RedisJournal(redis_url, max_entries=10)
    for seq in range(1, 200):
        await journal.append("s3", Entry(seq, html="x"))
    await journal.append("s3", Entry(200, state="done"))
    assert await journal.last_seq("s3") == 200
    kept = [e.seq async for e in journal.follow("s3", 0)]
    # XADD MAXLEN ~ trims whole macro nodes: far fewer than 200 stay, always the newest, in order.
    assert len(kept) < 200 and kept == list(range(kept[0], 201))
    await journal.close()


@pytest.mark.parametrize("backend", ["redis", "memory"])
async def test_a_finished_stream_compacts_to_one_whole_entry(journal: RedisJournal, backend: str) -> None:
    """Issue 9: what a finished stream keeps for resume is its snapshot, whatever the reader had seen."""
    from streamui.journal import MemoryJournal

    store = journal if backend == "redis" else MemoryJournal()
    for seq in range(1, 40):
        await store.append("s9", Entry(seq, html=f"<p>{seq}</p>" * 20))
    await store.append("s9", Entry(40, state="done", html="<i>mark</i>"))
    before = await journal.client.memory_usage(RedisJournal.key("s9")) if backend == "redis" else 0
    await store.compact("s9", Entry(40, state="done", html="<article>whole</article>", whole=True, stored=True))
    for after in (0, 17, 39):
        assert [(e.seq, e.html, e.whole, e.stored) async for e in store.follow("s9", after)] == [
            (40, "<article>whole</article>", True, True)]  # no "trimmed" notice: the snapshot is whole
    assert await store.last_seq("s9") == 40
    if backend == "redis":
        after_bytes = await journal.client.memory_usage(RedisJournal.key("s9"))
        assert after_bytes < before / 2 and await journal.client.ttl(RedisJournal.key("s9")) > 0
