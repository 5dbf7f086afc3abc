"""With Redis, every frame is its own journal entry, however slow the round trip (issue 9).

Before, every frame awaited its XADD through the generation's sender, and the frames that queued
meanwhile went out merged into one entry, which the wire could no longer send compactly (2.05x and
3.59x the answer's bytes under load, deploy/LOAD.md). The journal here answers 60 ms late on every
call, about one frame's time: the frames must still reach memory (this worker's followers) and Redis
one entry each, in order, with the end after them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping

import pytest

from streamui.generation import Generation, GenerationResult
from streamui.hub import Ending, StreamHub
from streamui.journal import Entry
from streamui.journal_redis import RedisJournal
from streamui.outbox import DirectSink, Frame, Sink
from streamui.pipeline.smoothing import make_strategy
from streamui.testing.simulated import SimulatedUpstream, answer_corpus
from streamui.upstream.base import ChatRequest, Message

from .support.redis import run_redis

pytestmark = pytest.mark.redis

DELAY = 0.06


class SlowRedisJournal(RedisJournal):
    """A Redis journal whose every write takes DELAY longer: a loaded network or server."""

    async def append_streams(self, entries: Mapping[str, list[Entry]]) -> dict[str, BaseException]:
        await asyncio.sleep(DELAY)  # every write goes through here: append, append_many, the batcher's
        return await super().append_streams(entries)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from run_redis(tmp_path_factory.mktemp("redis"))


async def test_each_frame_is_its_own_entry_in_memory_and_in_redis_however_slow_the_journal(redis_url: str) -> None:
    journal = SlowRedisJournal(redis_url, block_ms=200)
    hub = StreamHub(journal, grace=lambda: 30.0, use_channel_layer=False)
    frames: list[str] = []

    def build(sink: Sink, direct: DirectSink | None) -> Generation:
        request = ChatRequest(messages=[Message("user", answer_corpus()[4].prompt)], max_tokens=150)
        generation = Generation(upstream=SimulatedUpstream(profile="steady", speed=4.0), request=request,
                                strategies=[make_strategy("adaptive")], message_id=1, sink=sink,
                                direct_sink=direct, stream_id="s-slow")
        put_frame = generation.outbox.put_frame

        def counted(frame: Frame) -> None:  # every frame the generation hands on, whichever way it goes
            frames.append(frame.html)
            put_frame(frame)

        generation.outbox.put_frame = counted  # type: ignore[method-assign]
        return generation

    async def finalize(result: GenerationResult) -> Ending:
        return Ending(Entry(seq=0, state="done"))

    try:
        live = await hub.start(stream_id="s-slow", owner="o", generation=build, finalize=finalize)
        followed = [e async for e in hub.follow("s-slow", "o")]  # this worker's follower: from memory
        assert await hub.wait_ended("s-slow", 10)
        stored = [e async for e in journal.follow("s-slow", 0, wait=False)]
    finally:
        await hub.close()
        await journal.close()
    shown = [f for f in frames if f]
    assert len(shown) > 20, len(shown)
    # One entry per frame, in order, after the "streaming" entry and before the end.
    for entries in (followed, stored):
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        assert entries[0].state == "streaming" and entries[-1].state == "done"
        assert [e.html for e in entries[1:-1] if e.html] == shown
    assert live.final is not None and live.final.seq == len(stored)


class MeetingJournal(RedisJournal):
    """A journal whose stream record and first entry each wait for the other to be under way: a start
    that writes them one after the other never gets past the first."""

    def __init__(self, url: str) -> None:
        super().__init__(url, block_ms=200)
        self.meta_sent, self.first_sent = asyncio.Event(), asyncio.Event()

    async def set_meta(self, stream_id: str, meta: dict[str, str], *, ttl: float) -> None:
        self.meta_sent.set()
        await asyncio.wait_for(self.first_sent.wait(), 2)
        await super().set_meta(stream_id, meta, ttl=ttl)

    async def append(self, stream_id: str, entry: Entry) -> None:
        self.first_sent.set()
        await asyncio.wait_for(self.meta_sent.wait(), 2)
        await super().append(stream_id, entry)


async def test_a_start_sends_its_record_and_first_entry_together(redis_url: str) -> None:
    """Each is a round trip to Redis; on a busy process one took up to 250 ms (deploy/LOAD.md)."""
    journal = MeetingJournal(redis_url)
    hub = StreamHub(journal, grace=lambda: 30.0, use_channel_layer=False)

    def build(sink: Sink, direct: DirectSink | None) -> Generation:
        request = ChatRequest(messages=[Message("user", answer_corpus()[4].prompt)], max_tokens=20)
        return Generation(upstream=SimulatedUpstream(profile="steady", speed=20.0), request=request,
                          strategies=[make_strategy("adaptive")], message_id=1, sink=sink, direct_sink=direct,
                          stream_id="s-meet")

    async def finalize(result: GenerationResult) -> Ending:
        return Ending(Entry(seq=0, state="done"))

    try:
        await hub.start(stream_id="s-meet", owner="o", generation=build, finalize=finalize)
        assert await hub.wait_ended("s-meet", 10)
        stored = [e async for e in journal.follow("s-meet", 0, wait=False)]
    finally:
        await hub.close()
        await journal.close()
    assert stored[0].state == "streaming" and stored[-1].state == "done"


class CountingJournal(SlowRedisJournal):
    """The slow journal, noting which streams each round trip carried."""

    def __init__(self, url: str) -> None:
        super().__init__(url, block_ms=200)
        self.trips: list[set[str]] = []

    async def append_streams(self, entries: Mapping[str, list[Entry]]) -> dict[str, BaseException]:
        self.trips.append(set(entries))
        return await super().append_streams(entries)


async def test_the_streams_of_a_process_share_round_trips_and_one_failing_key_fails_one_stream(
        redis_url: str) -> None:
    """A pipeline per stream per frame was a fifth of a process's CPU (deploy/LOAD.md, seventh round):
    the process's streams go in one round trip. A stream whose writes Redis refuses (here its key
    turned into a string: WRONGTYPE) ends as a journal failure; the others, in the same trips, do not."""
    journal = CountingJournal(redis_url)
    hub = StreamHub(journal, grace=lambda: 30.0, use_channel_layer=False)
    ids = [f"s-share-{n}" for n in range(8)]
    ends: dict[str, str | None] = {}

    def build_for(stream_id: str) -> Callable[[Sink, DirectSink | None], Generation]:
        def build(sink: Sink, direct: DirectSink | None) -> Generation:
            request = ChatRequest(messages=[Message("user", answer_corpus()[4].prompt)], max_tokens=150)
            return Generation(upstream=SimulatedUpstream(profile="steady", speed=4.0), request=request,
                              strategies=[make_strategy("adaptive")], message_id=1, sink=sink,
                              direct_sink=direct, stream_id=stream_id)
        return build

    def finalize_for(stream_id: str) -> Callable[[GenerationResult], Awaitable[Ending]]:
        async def finalize(result: GenerationResult) -> Ending:
            ends[stream_id] = result.error.kind if result.error is not None else None
            return Ending(Entry(seq=0, state="done"))
        return finalize

    try:
        for stream_id in ids:
            await hub.start(stream_id=stream_id, owner="o", generation=build_for(stream_id),
                            finalize=finalize_for(stream_id))
        await asyncio.sleep(0.5)
        broken = ids[3]
        await journal.client.delete(journal.key(broken))
        await journal.client.set(journal.key(broken), "not a stream")
        for stream_id in ids:
            assert await hub.wait_ended(stream_id, 15)
        stored = {s: [e async for e in journal.follow(s, 0, wait=False)] for s in ids if s != broken}
    finally:
        await hub.close()
        await journal.close()
    assert max(len(trip) for trip in journal.trips) >= 4, journal.trips[:10]
    assert ends[broken] == "internal"
    assert all(ends[s] is None for s in ids if s != broken), ends
    for entries in stored.values():
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1)) and entries[-1].state == "done"
