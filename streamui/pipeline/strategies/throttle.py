"""`throttle`: reveal at the measured arrival rate, behind a small read-ahead (llm-ui's approach).

After llm-ui's throttleBasic: the last `read_ahead` characters are held back until
the stream ends, the first reveal waits for `read_ahead + lag_buffer` characters,
and the pace is the arrival rate measured over the last `lookback` seconds, 10%
faster when more than `read_ahead + lag_buffer` characters wait and 10% slower
otherwise. Characters, not words, one reveal per frame. The buffer it keeps is a
few characters, so it smooths bursts but not stalls.
"""

from __future__ import annotations

import math

from ..smoothing import Reveal, SmoothingStrategy
from .estimators import RateEstimator

FRAME = 1 / 60
# Credit is a float sum: a millionth short of a whole character still counts as whole
# (wake-ups aim for the whole one, so a wake-up always makes progress).
_TICK = 1e-6


class Throttle(SmoothingStrategy):
    name = "throttle"

    def __init__(
        self,
        *,
        read_ahead: int = 15,
        lag_buffer: int = 9,
        adjust: float = 0.1,
        lookback: float = 3.0,
        frame: float = FRAME,
    ) -> None:
        self.read_ahead = read_ahead
        self.lag_buffer = lag_buffer
        self.adjust = adjust
        self.frame = self._base_frame = frame
        self._rate = RateEstimator(horizon=lookback)
        self._pending = ""
        self._started = False
        self._finished = False
        self._credit = 0.0
        self._credit_at: float | None = None
        self._last_reveal = -math.inf
        self._final_rate = 0.0

    def set_frame(self, seconds: float) -> None:
        self.frame = max(self._base_frame, seconds)

    def push(self, text: str, now: float) -> None:
        self._pending += text
        self._rate.arrival(now, len(text))

    def finish(self, now: float) -> None:
        self._finished = True
        self._final_rate = self._pace(now)

    def _pace(self, now: float) -> float:
        measured = self._rate.rate(now, min_span=0.1)
        behind = len(self._pending) > self.read_ahead + self.lag_buffer
        return measured * (1 + self.adjust if behind else 1 - self.adjust)

    def poll(self, now: float) -> Reveal:
        pending = len(self._pending)
        if self._finished:
            revealable = pending
            rate = max(self._final_rate, 1 / self.frame)
        else:
            if not self._started and pending < self.read_ahead + self.lag_buffer:
                return Reveal("", None)
            revealable = pending - self.read_ahead
            rate = self._pace(now)
        if self._credit_at is not None:
            self._credit += rate * (now - self._credit_at)
        self._credit_at = now
        # One frame's worth at most: time spent waiting for text earns no burst.
        self._credit = min(self._credit, max(1.0, rate * self.frame))
        text = ""
        if revealable > 0 and now >= self._last_reveal + self.frame - 1e-9:
            n = min(revealable, int(self._credit + _TICK))
            if n > 0:
                text, self._pending = self._pending[:n], self._pending[n:]
                self._credit -= n
                self._last_reveal = now
                self._started = True
                revealable -= n
        if self._finished and not self._pending:
            return Reveal(text, None, done=True)
        if revealable <= 0 or rate <= 0:
            return Reveal(text, None)
        wait = max(0.0, (1 - self._credit) / rate)
        return Reveal(text, max(now + wait, self._last_reveal + self.frame))

    def __repr__(self) -> str:
        return f"Throttle(read_ahead={self.read_ahead}, lag_buffer={self.lag_buffer}, adjust={self.adjust})"


__all__ = ["Throttle"]
