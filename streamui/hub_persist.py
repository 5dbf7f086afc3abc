"""Checkpoints of running streams: the shown answer reaches the database at least every
`persist_interval` seconds, so a worker killed mid-stream loses at most that much of what the user
saw (review 4.1).

One loop for every stream of the process, and their writes in one group commit (issue 9): a timer,
a thread hop and a commit per stream per second kept a thousand streams queued.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Mapping

from .hub_stream import LiveStream

logger = logging.getLogger("streamui.hub")


class CheckpointSaver:
    def __init__(self, streams: Mapping[str, LiveStream], interval: float) -> None:
        self._streams = streams  # the hub's own: the streams this worker runs, as they come and go
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def ensure_running(self) -> None:
        """A stream with a checkpoint started: save it with the others (the loop ends when none is left)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="streamui-persist", context=contextvars.Context())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            running = [(live, live.checkpoint, live.generation) for live in self._streams.values()
                       if live.checkpoint is not None and live.generation is not None]
            if not running:
                self._task = None
                return
            outcomes = await asyncio.gather(*(save(generation) for _live, save, generation in running),
                                            return_exceptions=True)
            for (live, _save, _generation), outcome in zip(running, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    logger.warning("stream %s: checkpoint failed (%r)", live.stream_id, outcome)


__all__ = ["CheckpointSaver"]
