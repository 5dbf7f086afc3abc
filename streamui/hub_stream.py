"""One stream as the hub holds it (LiveStream), and what the hub's callers say about streams:
how a stream ends (Ending, Finalize), and why one cannot be started or reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .admission import Slot
from .generation import Generation, GenerationResult
from .journal import Entry
from .journal_writer import JournalWriter

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
JOURNAL_FAILED = "The server lost its connection to the stream's journal (Redis)."


@dataclass(frozen=True, slots=True)
class Ending:
    """What `Finalize` gives back: the final entry followers get, and whether the journal may be
    compacted to the answer as stored (`Entry.stored`) once the last followers are through."""

    final: Entry
    compact: bool = False


Finalize = Callable[[GenerationResult], Awaitable[Ending]]
Checkpoint = Callable[[Generation], Awaitable[None]]
RenderStored = Callable[[str], Awaitable[str]]  # stream id -> the answer as stored, as HTML replacing it whole


class StreamStartError(RuntimeError):
    """The stream could not be started (e.g. the journal is unreachable); nothing is left running."""


class StreamAccessError(PermissionError):
    """The stream does not exist or belongs to someone else (indistinguishable on purpose)."""


@dataclass(slots=True)
class LiveStream:
    stream_id: str
    owner: str
    finalize: Finalize
    generation: Generation | None = field(init=False)  # None once ended: a finished stream keeps no state
    task: asyncio.Task[None] | None = None
    local_followers: int = 0
    # Followers on other workers, each a lease (loop time it expires) renewed by their worker:
    # a follower whose worker died stops counting after one lease (review 5.8).
    remote: dict[str, float] = field(default_factory=dict)
    grace_timer: asyncio.TimerHandle | None = None
    seq: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    checkpoint: Checkpoint | None = None
    slot: Slot | None = None
    retry: str = ""  # the prompt, for the Retry button when the stream fails
    failure: str = ""  # why the hub itself ended the stream (the journal failed)
    final: Entry | None = None  # the last entry, kept here too in case the journal cannot take it
    writer: JournalWriter | None = None  # with Redis: this stream's entries on their way there

    @property
    def remote_followers(self) -> int:
        now = asyncio.get_running_loop().time()
        for token in [t for t, until in self.remote.items() if until < now]:
            del self.remote[token]
        return len(self.remote)

    @property
    def followers(self) -> int:
        return self.local_followers + self.remote_followers

    async def wait_ended(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ended.wait(), timeout)
        return self.ended.is_set()


Cancel = Callable[[LiveStream, str], None]


__all__ = [
    "JOURNAL_FAILED",
    "WORKER_ID",
    "Cancel",
    "Checkpoint",
    "Ending",
    "Finalize",
    "LiveStream",
    "RenderStored",
    "StreamAccessError",
    "StreamStartError",
]
