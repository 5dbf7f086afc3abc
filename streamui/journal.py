"""The journal of a stream: sequence-numbered entries a client can replay from any point.

An entry is what a transport needs to show the stream: HTML fragments aimed at the
stream's own (message-level) element ids, plus the stream's state changes and live
figures, which each transport renders for its own widget. `MemoryJournal` keeps
entries in process memory (the embedded default); `RedisJournal` keeps them in a
Redis Stream, so any process can replay and follow a stream another process runs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

Alive = Callable[[], Awaitable[bool]]

STATES = ("streaming", "done", "stopped", "interrupted")
DEFAULT_MAX_ENTRIES = 20_000
COMMAND_CONNECTIONS = 64  # per process, shared by every stream's appends, leases and admission
READER_CONNECTIONS = 10_000  # per process: one per follower of a stream another worker runs
TRIMMED = "The start of this answer is no longer in the live journal: it shows whole once the answer ends."


def entries_for(max_answer_chars: int) -> int:
    """A journal cap that the answer cap is reached before (review 4.17): every entry but a few
    state and figure entries reveals at least one character of answer, reasoning or tool call."""
    return max(DEFAULT_MAX_ENTRIES, max_answer_chars + 2_000)


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    html: str = ""
    state: str = ""  # set when the stream's state changes: one of STATES
    error: str = ""
    figures: dict[str, str] | None = None
    retry: str = ""  # the prompt a Retry button sends again (as a new stream) after a failure
    # A snapshot: it replaces everything before it (a finished stream's journal compacted to its
    # answer as stored), so a replay that starts with it is whole, not trimmed.
    whole: bool = False
    # The snapshot's HTML is the answer as stored, rendered from the database when a follower
    # asks for it (StreamHub.render_stored), not kept: a finished stream holds a few hundred
    # bytes for resume, not its answer twice over, and most are never resumed.
    stored: bool = False

    def to_json(self) -> str:
        data: dict[str, Any] = {"seq": self.seq}
        for name in ("html", "state", "error", "retry"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.figures:
            data["figures"] = self.figures
        if self.whole:
            data["whole"] = True
        if self.stored:
            data["stored"] = True
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Entry:
        data = json.loads(raw)
        return cls(seq=int(data["seq"]), html=data.get("html", ""), state=data.get("state", ""),
                   error=data.get("error", ""), figures=data.get("figures"), retry=data.get("retry", ""),
                   whole=bool(data.get("whole", False)), stored=bool(data.get("stored", False)))

    @property
    def final(self) -> bool:
        return self.state in ("done", "stopped", "interrupted")


class Journal(Protocol):
    async def append(self, stream_id: str, entry: Entry) -> None: ...

    async def append_many(self, stream_id: str, entries: list[Entry]) -> None:
        """`append` each, in order (a shared journal in one round trip)."""
        ...

    async def append_streams(self, entries: Mapping[str, list[Entry]]) -> dict[str, BaseException]:
        """`append_many` for several streams (a shared journal in one round trip); the streams whose
        entries could not be written, with why (a failed round trip raises instead)."""
        ...

    def follow(self, stream_id: str, after: int, *, alive: Alive | None = None,
               wait: bool = True) -> AsyncIterator[Entry]:
        """Entries with seq > after, then new ones as they come, until the final one; when nothing
        new comes and `alive()` says the stream's worker is gone, it ends without a final entry."""
        ...

    async def last_seq(self, stream_id: str) -> int: ...

    async def forget(self, stream_id: str) -> None: ...

    async def compact(self, stream_id: str, snapshot: Entry) -> None:
        """Replace a finished stream's entries with `snapshot` (a `whole`, final entry carrying the
        answer as stored), so what is kept for resume is the answer, not every frame (issue 9)."""
        ...

    async def set_meta(self, stream_id: str, meta: dict[str, str], *, ttl: float) -> None:
        """Who owns the stream and where it runs; `ttl` is a lease the running worker renews."""
        ...

    async def get_meta(self, stream_id: str) -> dict[str, str] | None: ...


@dataclass(slots=True)
class _Log:
    entries: list[Entry] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class MemoryJournal:
    """In-process journal: one list per stream, capped; followers wake on every append."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._logs: dict[str, _Log] = {}
        self._meta: dict[str, dict[str, str]] = {}

    def _log(self, stream_id: str) -> _Log:
        return self._logs.setdefault(stream_id, _Log())

    async def append(self, stream_id: str, entry: Entry) -> None:
        self.append_now(stream_id, entry)

    async def append_many(self, stream_id: str, entries: list[Entry]) -> None:
        for entry in entries:
            self.append_now(stream_id, entry)

    async def append_streams(self, entries: Mapping[str, list[Entry]]) -> dict[str, BaseException]:
        for stream_id, some in entries.items():
            await self.append_many(stream_id, some)
        return {}

    def append_now(self, stream_id: str, entry: Entry) -> None:
        """`append`, synchronously: nothing here waits."""
        log = self._log(stream_id)
        log.entries.append(entry)
        if len(log.entries) > self.max_entries:
            del log.entries[: len(log.entries) - self.max_entries]
        log.changed.set()
        log.changed = asyncio.Event()

    async def follow(self, stream_id: str, after: int, *, alive: Alive | None = None,
                     wait: bool = True) -> AsyncIterator[Entry]:
        log = self._logs.get(stream_id) if alive is not None else self._log(stream_id)
        if log is None:
            return
        while True:
            waiter = log.changed
            # Sequence numbers are contiguous, so the next entry's index is arithmetic.
            start = max(0, after + 1 - log.entries[0].seq) if log.entries else 0
            if log.entries and after + 1 < log.entries[0].seq and not log.entries[0].whole:
                # Trimmed by the cap: say so rather than show a silently shorter answer (review 4.17).
                yield Entry(seq=log.entries[0].seq - 1, error=TRIMMED)
                after = log.entries[0].seq - 1
            # One page at a time: a replay never copies the whole log at once (review 2.8).
            while start < len(log.entries):
                page = log.entries[start:start + 256]
                for entry in page:
                    yield entry
                    after = entry.seq
                    if entry.final:
                        return
                start = max(0, after + 1 - log.entries[0].seq) if log.entries else 0
            if alive is not None and not await alive():
                return
            await waiter.wait()

    async def last_seq(self, stream_id: str) -> int:
        log = self._logs.get(stream_id)
        return log.entries[-1].seq if log and log.entries else 0

    async def forget(self, stream_id: str) -> None:
        self._logs.pop(stream_id, None)
        self._meta.pop(stream_id, None)

    async def compact(self, stream_id: str, snapshot: Entry) -> None:
        log = self._logs.get(stream_id)
        if log is None:
            return
        log.entries = [snapshot]
        log.changed.set()
        log.changed = asyncio.Event()

    async def set_meta(self, stream_id: str, meta: dict[str, str], *, ttl: float) -> None:
        self._meta[stream_id] = dict(meta)

    async def get_meta(self, stream_id: str) -> dict[str, str] | None:
        return self._meta.get(stream_id)


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


__all__ = ["DEFAULT_MAX_ENTRIES", "STATES", "TRIMMED", "Entry", "Journal", "MemoryJournal", "RedisJournal",
           "entries_for"]
