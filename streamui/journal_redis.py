"""The journal in Redis Streams, for streams that several worker processes serve: one stream key
per answer (XADD with a cap, XRANGE/XREAD by sequence number), its metadata as a lease, a finished
stream compacted to the answer as stored. `streamui.journal` holds the entry and the protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

from .journal import DEFAULT_MAX_ENTRIES, Alive, Entry

COMMAND_CONNECTIONS = 64  # per process, shared by every stream's appends, leases and admission
READER_CONNECTIONS = 10_000  # per process: one per follower of a stream another worker runs


class RedisJournal:
    """A Redis Stream per stream id: XADD with an approximate cap, XRANGE to replay, XREAD to follow.

    Entry ids are `0-<seq>`, so a client's last sequence number is also the Redis id
    to read after. Keys expire a while after the stream ends.
    """

    def __init__(self, url: str, *, max_entries: int = DEFAULT_MAX_ENTRIES, ttl_seconds: int = 3600,
                 block_ms: int = 15_000) -> None:
        import redis.asyncio as redis

        options: dict[str, Any] = {"socket_connect_timeout": 5, "retry_on_timeout": True, "health_check_interval": 30}
        # Commands wait for a free connection rather than fail: redis-py's default pool raises "Too
        # many connections" past 100 at once, which a burst of starts reached (issue 9).
        commands = redis.BlockingConnectionPool.from_url(url, max_connections=COMMAND_CONNECTIONS, timeout=10,
                                                         **options)
        self._redis = redis.Redis(connection_pool=commands)
        # Blocking reads (followers of streams other workers run) hold their connection for up to
        # `block_ms`, so they get their own pool, never starving the commands of running streams.
        self._readers = redis.Redis.from_url(url, max_connections=READER_CONNECTIONS, **options)
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.block_ms = block_ms

    @staticmethod
    def key(stream_id: str) -> str:
        return f"streamui:journal:{stream_id}"

    async def append(self, stream_id: str, entry: Entry) -> None:
        await self.append_many(stream_id, [entry])

    async def append_many(self, stream_id: str, entries: list[Entry]) -> None:
        failed = await self.append_streams({stream_id: entries})
        if stream_id in failed:
            raise failed[stream_id]

    async def append_streams(self, entries: Mapping[str, list[Entry]]) -> dict[str, BaseException]:
        owners: list[str] = []  # the stream of each command, to tell whose write failed
        async with self._redis.pipeline(transaction=False) as pipe:
            for stream_id, some in entries.items():
                key = self.key(stream_id)
                for entry in some:
                    pipe.xadd(key, {"e": entry.to_json()}, id=f"0-{entry.seq}", maxlen=self.max_entries,
                              approximate=True)
                    owners.append(stream_id)
                if any(entry.final or entry.seq == 1 for entry in some):
                    pipe.expire(key, self.ttl_seconds)
                    owners.append(stream_id)
            replies = await pipe.execute(raise_on_error=False)
        failed: dict[str, BaseException] = {}
        for stream_id, reply in zip(owners, replies, strict=True):
            if isinstance(reply, BaseException) and stream_id not in failed:
                failed[stream_id] = reply
        return failed

    @property
    def client(self) -> Any:
        return self._redis

    async def follow(self, stream_id: str, after: int, *, alive: Alive | None = None,
                     wait: bool = True) -> AsyncIterator[Entry]:
        key = self.key(stream_id)
        last = f"0-{after}"
        from redis.exceptions import TimeoutError as RedisTimeout

        while True:
            try:
                reply = await self._readers.xread({key: last}, block=self.block_ms if wait else None, count=500)
            except RedisTimeout:
                reply = None  # a blocking read that outlived a socket timeout: read again from `last`
            if not reply:
                # Nothing for a whole block: is anyone still writing? (review 4.2: a dead worker
                # writes no final entry; its lease expiring is how a follower learns of it)
                if alive is not None and not await alive():
                    return
                continue
            for _key, items in cast("list[tuple[Any, list[tuple[bytes | str, dict[Any, Any]]]]]", reply):
                for entry_id, fields in items:
                    last = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                    entry = Entry.from_json(fields[b"e"] if b"e" in fields else fields["e"])
                    yield entry
                    if entry.final:
                        return

    async def last_seq(self, stream_id: str) -> int:
        items = await self._redis.xrevrange(self.key(stream_id), count=1)
        if not items:
            return 0
        entry_id = items[0][0]
        text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        return int(text.split("-")[1])

    async def forget(self, stream_id: str) -> None:
        await self._redis.delete(self.key(stream_id), self.meta_key(stream_id))

    async def compact(self, stream_id: str, snapshot: Entry) -> None:
        # One transaction: a follower reading after any earlier id gets the snapshot, never an
        # empty stream between the delete and the add.
        key = self.key(stream_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.xadd(key, {"e": snapshot.to_json()}, id=f"0-{snapshot.seq}")
            pipe.expire(key, self.ttl_seconds)
            await pipe.execute()

    @staticmethod
    def meta_key(stream_id: str) -> str:
        return f"streamui:stream:{stream_id}"

    async def set_meta(self, stream_id: str, meta: dict[str, str], *, ttl: float) -> None:
        key = self.meta_key(stream_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=dict(meta))  # type: ignore[arg-type]  # redis-py's Mapping is invariant
            pipe.pexpire(key, int(ttl * 1000))
            await pipe.execute()

    async def get_meta(self, stream_id: str) -> dict[str, str] | None:
        raw = await self._redis.hgetall(self.meta_key(stream_id))
        if not raw:
            return None
        return {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                for k, v in raw.items()}

    async def close(self) -> None:
        await self._redis.aclose()
        await self._readers.aclose()


__all__ = ["COMMAND_CONNECTIONS", "READER_CONNECTIONS", "RedisJournal"]
