"""A cap on how much text may appear within any window of time.

A paragraph dumped at once reads as a stutter, whatever the average rate; the cap
bounds the characters revealed in any `window` seconds.
"""

from __future__ import annotations

from collections import deque

# Reveal times are sums of floats; a microsecond of slack keeps a reveal exactly one
# window later from counting twice.
_EPS = 1e-6


class BurstWindow:
    def __init__(self, *, max_chars: int, window: float = 0.1) -> None:
        if max_chars < 1 or window <= 0:
            raise ValueError("max_chars and window must be positive")
        self.max_chars = max_chars
        self.window = window
        self._recent: deque[tuple[float, int]] = deque()
        self._used = 0

    def _expire(self, now: float) -> None:
        recent = self._recent
        while recent and recent[0][0] <= now - self.window + _EPS:
            self._used -= recent.popleft()[1]

    def room(self, now: float) -> int:
        """Characters that may still be revealed at `now`."""
        self._expire(now)
        return self.max_chars - self._used

    def record(self, now: float, chars: int) -> None:
        if chars:
            self._recent.append((now, chars))
            self._used += chars

    def next_room_at(self, now: float, chars: int) -> float:
        """The earliest time at which `chars` will fit (now, if they already do)."""
        self._expire(now)
        free = self.max_chars - self._used
        if chars <= free:
            return now
        for t, n in self._recent:
            free += n
            if chars <= free:
                return t + self.window
        return now + self.window


__all__ = ["BurstWindow"]
