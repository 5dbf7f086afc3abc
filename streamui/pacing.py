"""One pacing clock for every stream of a process.

Each stream asks to be called back at its pipeline's next wake time; the ticker keeps
those times in a heap and arms one asyncio timer for the earliest. When it fires, it
calls back every stream due by then (and those due within `slack`, which would have
fired a moment later anyway), so a thousand streams cost one timer, not a thousand
timers, events and task wake-ups.

The ticker also knows how late the process runs: each firing is measured against the
time it was armed for, and `lag()` is a moving average of that (a firing weighs LAG_WEIGHT),
so one pause (a garbage collection, a slow query) hardly moves it and a loop that is late
at every firing shows it within a few dozen firings. A loop that paces its streams that
late is overloaded (streamui.overload refuses new streams).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import weakref
from collections.abc import Callable

logger = logging.getLogger("streamui.pacing")

Callback = Callable[[], None]

SLACK = 0.002  # seconds: a wake this close to a due one is served in the same pass
LAG_WEIGHT = 0.05  # of each firing's lateness in the moving average
LAG_WINDOW = 2.0  # seconds: with no firing for this long, the lag is forgotten


class Ticker:
    def __init__(self, loop: asyncio.AbstractEventLoop, *, slack: float = SLACK) -> None:
        self._loop = loop
        self._slack = slack
        self._heap: list[tuple[float, int, Callback]] = []
        self._live: dict[Callback, int] = {}  # callback -> the sequence number of its current entry
        self._when: dict[Callback, float] = {}  # callback -> the time of that entry
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at: float | None = None
        self._lag = 0.0
        self._fired_at = float("-inf")

    def __len__(self) -> int:
        return len(self._live)

    def schedule(self, callback: Callback, at: float) -> None:
        """Call `callback` at `at` (loop time), instead of whenever it was due before."""
        current = self._when.get(callback)
        if current is not None and current == at and callback in self._live:
            return  # already due then: no second heap entry
        self._when[callback] = at
        seq = next(self._seq)
        self._live[callback] = seq
        heapq.heappush(self._heap, (at, seq, callback))
        if self._armed_at is None or at < self._armed_at:
            self._arm(at)

    def cancel(self, callback: Callback) -> None:
        self._live.pop(callback, None)  # its heap entry is skipped when it comes up
        self._when.pop(callback, None)
        if not self._live and self._timer is not None:
            self._timer.cancel()  # nothing left to pace: no timer outlives the last stream
            self._timer = self._armed_at = None
            self._heap.clear()

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_at = at
        self._timer = self._loop.call_at(at, self._fire)

    def lag(self) -> float:
        """Seconds: how late the firings run, on average over the recent ones (0 when nothing
        was paced for LAG_WINDOW seconds)."""
        return self._lag if self._loop.time() - self._fired_at < LAG_WINDOW else 0.0

    def _fire(self) -> None:
        now = self._loop.time()
        if self._armed_at is not None:
            if now - self._fired_at >= LAG_WINDOW:
                self._lag = 0.0
            self._lag += LAG_WEIGHT * (max(0.0, now - self._armed_at) - self._lag)
            self._fired_at = now
        self._timer = self._armed_at = None
        horizon = now + self._slack
        due: list[Callback] = []
        heap = self._heap
        while heap and heap[0][0] <= horizon:
            _, seq, callback = heapq.heappop(heap)
            if self._live.get(callback) == seq:
                del self._live[callback]
                del self._when[callback]
                due.append(callback)
        for callback in due:
            try:
                callback()  # may schedule again
            except Exception:  # one stream's bug must not stop the others' pace
                logger.exception("pacing callback failed")
        while heap and self._live.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)
        if heap and (self._armed_at is None or heap[0][0] < self._armed_at):
            self._arm(heap[0][0])


_TICKERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Ticker] = weakref.WeakKeyDictionary()


def running_lag() -> float:
    """The running loop's pacing lag (0 before anything was paced on it)."""
    found = _TICKERS.get(asyncio.get_running_loop())
    return found.lag() if found is not None else 0.0


def ticker() -> Ticker:
    """The running loop's ticker."""
    loop = asyncio.get_running_loop()
    found = _TICKERS.get(loop)
    if found is None:
        found = _TICKERS[loop] = Ticker(loop)
    return found


__all__ = ["LAG_WEIGHT", "LAG_WINDOW", "Callback", "Ticker", "running_lag", "ticker"]
