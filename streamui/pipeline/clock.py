"""Time as a parameter: one implementation of each stage, two clocks.

Live code passes `LoopClock` (the event loop's monotonic clock); the benchmark and
unit tests pass `VirtualClock`, which only moves when told to.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale; only differences mean anything."""
        ...


class LoopClock:
    """The running event loop's clock (what `loop.call_at` and timeouts use)."""

    def now(self) -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    def __repr__(self) -> str:
        return "LoopClock()"


class VirtualClock:
    """A clock that moves only by `advance_to`/`advance`; deterministic and instant."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance_to(self, t: float) -> None:
        if t < self._now:
            raise ValueError(f"virtual time cannot go back: {t} < {self._now}")
        self._now = t

    def advance(self, seconds: float) -> None:
        self.advance_to(self._now + seconds)

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now!r})"


__all__ = ["Clock", "LoopClock", "VirtualClock"]
