"""Overload: a new stream is refused at once past `MAX_STREAMS_PER_PROCESS` running streams,
while the process paces the running ones more than `OVERLOAD_LAG_MS` late, or when the
streams it runs and has just let in would need more than BUSY_CPU of a core.

Refusing before any database work or upstream request keeps the streams already
running at their pace and gives the newcomer a clear "busy, try again" instead of a
place in a queue whose first reveal comes half a minute later. The count needs tuning
to the machine; the lag does not: it is what the users of the running streams would
see (a pacing clock that fires 150 ms late is a 150 ms stall in every answer).

The lag is late news, though. A stream costs most in its first second (its turn is
stored, its upstream connects, its first words render), and a loop slightly over
capacity falls behind only gradually, so the lag crosses the limit a second or more
after the streams that overload it were let in. A burst of a thousand prompts in ten
seconds (deploy/LOAD.md) was admitted at three times capacity that way, and every
admitted stream then ran hundreds of milliseconds late. So the process also watches its
CPU time (all threads, per wall second, over the last CPU_WINDOW) and what a running
stream costs of it (`ProcessLoad`), and refuses a newcomer when that share, plus the
cost of the streams admitted in the last ADMITTED_WINDOW (whose cost has not shown yet),
passes BUSY_CPU. An idle process admits a burst up to what it can carry, at once.
"""

from __future__ import annotations

import time
import weakref
from collections import deque
from dataclasses import dataclass, field

from .conf import get_settings
from .hub import StreamHub
from .pacing import running_lag
from .protocol import ProtocolError

BUSY = "The server is busy: try again in a moment."
BUSY_CPU = 1.0  # of one core: what the streams may need, with the GIL one core is all a process gets
CPU_WINDOW = 0.25  # seconds: the CPU share is measured over at least this long
ADMITTED_WINDOW = 0.5  # seconds: a stream admitted this recently is counted at a running stream's cost
MIN_STREAMS = 8  # a process running fewer streams is never refused for its CPU (its other work is to blame)
COST_MEMORY = 10.0  # seconds: a stream's cost is the least measured over this long


@dataclass(slots=True)
class ProcessLoad:
    """The process's CPU time per wall second over the last CPU_WINDOW or more, and what a running
    stream costs of it.

    A window's share over its running streams overstates a stream's cost by whatever else the
    process did meanwhile (sockets opening, streams starting, refusals), most of all early in a
    burst, when few run: an average of those kept a process at 90 streams where 100 kept their pace.
    The least of the last COST_MEMORY seconds' windows (with at least MIN_STREAMS running) is the
    tightest of those bounds."""

    share: float = 0.0
    _wall: float | None = None
    _cpu: float = 0.0
    _costs: deque[tuple[float, float]] = field(default_factory=deque)  # (wall, share per running stream)

    @property
    def per_stream(self) -> float:
        return min((cost for _, cost in self._costs), default=0.0)

    def read(self, *, wall: float, cpu: float, running: int) -> None:
        if self._wall is None:
            self._wall, self._cpu = wall, cpu
            return
        if wall - self._wall < CPU_WINDOW:
            return
        self.share = (cpu - self._cpu) / (wall - self._wall)
        self._wall, self._cpu = wall, cpu
        costs = self._costs
        while costs and costs[0][0] < wall - COST_MEMORY:
            costs.popleft()
        if running >= MIN_STREAMS:
            costs.append((wall, self.share / running))


@dataclass(slots=True)
class Admissions:
    """The streams one process admitted in the last ADMITTED_WINDOW."""

    times: deque[float] = field(default_factory=deque)

    def projected(self, load: ProcessLoad, now: float) -> float:
        """The CPU share once the recent admissions cost what a running stream does."""
        times = self.times
        while times and times[0] <= now - ADMITTED_WINDOW:
            times.popleft()
        return load.share + len(times) * load.per_stream

    def add(self, now: float) -> None:
        self.times.append(now)


_admissions: weakref.WeakKeyDictionary[StreamHub, Admissions] = weakref.WeakKeyDictionary()
_load = ProcessLoad()


def running_streams(hub: StreamHub) -> int:
    """Streams this process is generating now (finished ones kept for resume do not count)."""
    return sum(1 for live in hub.streams.values() if not live.ended.is_set())


def refuse_when_busy(hub: StreamHub) -> None:
    """Raise the "busy" ProtocolError when this process runs its most streams, paces them too
    late, or could not carry one more; otherwise count the admission."""
    config = get_settings()
    running = running_streams(hub)
    limit = config.max_streams_per_process
    if limit and running >= limit:
        raise ProtocolError(BUSY)
    lag_ms = float(config.overload_lag_ms)
    if not lag_ms:
        return
    if running_lag() * 1000 > lag_ms:
        raise ProtocolError(BUSY)
    now = time.monotonic()
    _load.read(wall=now, cpu=time.process_time(), running=running)
    admissions = _admissions.setdefault(hub, Admissions())
    if running >= MIN_STREAMS and admissions.projected(_load, now) > BUSY_CPU:
        raise ProtocolError(BUSY)
    admissions.add(now)


__all__ = ["BUSY", "BUSY_CPU", "COST_MEMORY", "Admissions", "ProcessLoad", "refuse_when_busy", "running_streams"]
