"""Online estimates of an upstream's pace, updated per arrival in O(1).

`GapEstimator` is the smoothed mean and mean deviation of the gaps between arrivals,
with the gains TCP uses for its retransmission timer (RFC 6298: 1/8 and 1/4) and
the same reading of the result: a gap longer than mean + 4 deviations is not jitter
but a stall. Adaptive playout in VoIP (Ramjee et al., 1994) sizes its jitter buffer
with exactly this estimate.

`RateEstimator` is the arrival rate in characters per second, averaged over a
sliding horizon of time rather than of arrivals, so a burst of tiny packets and one
big packet carrying the same text give the same rate.
"""

from __future__ import annotations

from collections import deque

MEAN_GAIN = 1 / 8
DEV_GAIN = 1 / 4


class GapEstimator:
    def __init__(self, *, initial_mean: float, initial_dev: float) -> None:
        self.mean = initial_mean
        self.dev = initial_dev
        self.largest = 0.0
        self._last: float | None = None

    def arrival(self, now: float) -> None:
        last = self._last
        self._last = now
        if last is None:
            return
        gap = now - last
        if gap <= 0:
            return  # several pieces in one packet: one arrival
        self.dev += DEV_GAIN * (abs(gap - self.mean) - self.dev)
        self.mean += MEAN_GAIN * (gap - self.mean)
        if gap > self.largest:
            self.largest = gap

    @property
    def last(self) -> float | None:
        return self._last

    def stall_threshold(self) -> float:
        """A silence longer than this is a stall rather than jitter."""
        return self.mean + 4 * self.dev


class RateEstimator:
    def __init__(self, *, horizon: float) -> None:
        self.horizon = horizon
        self._recent: deque[tuple[float, int]] = deque()
        self._chars = 0
        self._first: float | None = None

    def arrival(self, now: float, chars: int) -> None:
        if self._first is None:
            self._first = now
        self._recent.append((now, chars))
        self._chars += chars
        while self._recent and self._recent[0][0] < now - self.horizon:
            self._chars -= self._recent.popleft()[1]

    def rate(self, now: float, *, min_span: float) -> float:
        """Characters per second over the horizon (0 before anything arrived)."""
        if self._first is None:
            return 0.0
        while self._recent and self._recent[0][0] < now - self.horizon:
            self._chars -= self._recent.popleft()[1]
        span = max(min_span, min(self.horizon, now - self._first))
        return self._chars / span


__all__ = ["DEV_GAIN", "MEAN_GAIN", "GapEstimator", "RateEstimator"]
