"""One pacing clock for every stream of a process.

Each stream asks to be called back at its pipeline's next wake time; the ticker keeps
those times in a heap and arms one asyncio timer for the earliest. When it fires, it
calls back every stream due by then (and those due within `slack`, which would have
fired a moment later anyway), so a thousand streams cost one timer, not a thousand
timers, events and task wake-ups.
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

    def _fire(self) -> None:
        self._timer = self._armed_at = None
        horizon = self._loop.time() + self._slack
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


def ticker() -> Ticker:
    """The running loop's ticker."""
    loop = asyncio.get_running_loop()
    found = _TICKERS.get(loop)
    if found is None:
        found = _TICKERS[loop] = Ticker(loop)
    return found


__all__ = ["Callback", "Ticker", "ticker"]
