"""The journal of a stream: sequence-numbered entries a client can replay from any point.

An entry is what a transport needs to show the stream: HTML fragments aimed at the
stream's own (message-level) element ids, plus the stream's state changes and live
figures, which each transport renders for its own widget. `MemoryJournal` keeps
entries in process memory (the embedded default); `streamui.journal_redis.RedisJournal`
keeps them in a Redis Stream, so any process can replay and follow a stream another process runs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

Alive = Callable[[], Awaitable[bool]]

STATES = ("streaming", "done", "stopped", "interrupted")
DEFAULT_MAX_ENTRIES = 20_000
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


__all__ = ["DEFAULT_MAX_ENTRIES", "STATES", "TRIMMED", "Entry", "Journal", "MemoryJournal",
           "entries_for"]
