"""Database work from many streams, committed together (issue 9).

Django runs async ORM calls on one executor thread, one call and one commit at a time: at a
thousand streams, every start's five inserts and every stream's checkpoint queued there, and
the first reveal waited half a minute. `GroupCommit.run(job)` queues a plain synchronous
`job`; all jobs queued while the previous batch was running go to the database together, in
one thread hop and one transaction, each in its own savepoint so that one failing job fails
alone. Alone on an idle server a job runs at once, as before; under load batches grow and the
commits per stream fall.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import connection, transaction

T = TypeVar("T")
logger = logging.getLogger(__name__)

MAX_BATCH = 256  # jobs per transaction: bounds how long one commit holds SQLite's write lock


class GroupCommit:
    def __init__(self, *, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._queue: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self.batches = 0  # transactions committed (or attempted): for tests and the load report
        self.jobs = 0

    async def run(self, job: Callable[[], T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((job, future))
        if self._drainer is None or self._drainer.done():
            # A fresh context: the drainer outlives the request that woke it and must not keep its
            # thread-sensitive executor (review 6.4).
            self._drainer = asyncio.create_task(self._drain(), name="streamui-group-commit",
                                                context=contextvars.Context())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            live = [(job, future) for job, future in batch if not future.done()]  # a cancelled caller
            if not live:
                continue
            self.batches += 1
            self.jobs += len(live)
            try:
                outcomes = await sync_to_async(_run_batch, thread_sensitive=True)([job for job, _ in live])
            except BaseException as exc:  # the commit itself failed (disk full, database locked)
                for _job, future in live:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_job, future), (ok, value) in zip(live, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)


def _run_batch(jobs: list[Callable[[], Any]]) -> list[tuple[bool, Any]]:
    # The writer keeps its connection from batch to batch: opening one per batch (what
    # CONN_MAX_AGE=0 and Channels' per-message close_old_connections led to) was 3% of a busy
    # server's CPU. It is dropped when it failed, so the next batch reconnects (a restarted
    # PostgreSQL, a broken file).
    if connection.connection is not None and connection.errors_occurred and not connection.is_usable():
        connection.close()
    outcomes: list[tuple[bool, Any]] = []
    try:
        with transaction.atomic():
            for job in jobs:
                try:
                    with transaction.atomic():
                        outcomes.append((True, job()))
                except Exception as exc:
                    outcomes.append((False, exc))
    except Exception:
        connection.close()
        raise
    return outcomes


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = weakref.WeakKeyDictionary()


def group_commit() -> GroupCommit:
    """The running event loop's writer (one per loop: a test's loop must not inherit another's)."""
    loop = asyncio.get_running_loop()
    writer = _per_loop.get(loop)
    if writer is None:
        writer = _per_loop[loop] = GroupCommit()
    return writer


async def in_batch(job: Callable[[], T]) -> T:
    """Run `job` (synchronous database work) in the next group commit."""
    return await group_commit().run(job)


__all__ = ["MAX_BATCH", "GroupCommit", "group_commit", "in_batch"]
