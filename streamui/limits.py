"""Per-visitor limits on starting streams: how many at once, and how often."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable


class StartRateLimiter:
    """A sliding window of start times per visitor (in this process)."""

    def __init__(self, *, per_minute: int, clock: Callable[[], float] | None = None) -> None:
        self.per_minute = per_minute
        self._clock = clock or time.monotonic
        self._starts: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, visitor: str) -> bool:
        now = self._clock()
        window = self._starts[visitor]
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        return True


__all__ = ["StartRateLimiter"]
