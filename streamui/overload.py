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

A process's share cannot tell a busy machine from an idle one, though: two Daphnes, Redis and
nginx on two cores each see a process below a core while the machine has nothing left
(deploy/LOAD.md). Where the kernel says how idle the machine is (Linux's /proc/stat), the
process's capacity is also bounded by what it uses plus the machine's idle cores (the most
idle of the last IDLE_MEMORY's windows): a newcomer is refused when its cost would come out of
CPU nobody has had for a second.
"""

from __future__ import annotations

import asyncio
import os
import time
import weakref
from collections import deque
from collections.abc import Callable
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
# seconds: the machine counts as idle as its most idle window of this long (a client opening its
# sockets, a neighbour's garbage collection: a quarter second with nothing idle is not a full machine)
IDLE_MEMORY = 1.0
PROC_STAT = "/proc/stat"


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
    idle_cores: float | None = None  # the machine's idle CPU: the most of the last IDLE_MEMORY's windows
    _wall: float | None = None
    _cpu: float = 0.0
    _machine: tuple[float, float] | None = None  # (idle, total) CPU time of the whole machine
    _idle: deque[tuple[float, float]] = field(default_factory=deque)  # (wall, idle cores) per window
    _costs: deque[tuple[float, float]] = field(default_factory=deque)  # (wall, share per running stream)

    @property
    def per_stream(self) -> float:
        return min((cost for _, cost in self._costs), default=0.0)

    @property
    def capacity(self) -> float:
        """The most CPU the process's streams can have: BUSY_CPU, or less when the machine has
        less idle than that beyond what the process uses already."""
        if self.idle_cores is None:
            return BUSY_CPU
        return min(BUSY_CPU, self.share + self.idle_cores)

    def restart(self) -> None:
        """Begin a new window at the next reading (after a pause in sampling, whose window would
        describe the past)."""
        self._wall = None
        self._idle.clear()

    def read(self, *, wall: float, cpu: float, running: int,
             machine: Callable[[], tuple[float, float] | None] = lambda: None) -> None:
        """`machine`: the whole machine's (idle, total) CPU time, all cores, when known (read only
        when a window ends)."""
        if self._wall is None:
            self._wall, self._cpu, self._machine = wall, cpu, machine()
            return
        if wall - self._wall < CPU_WINDOW:
            return
        sample = machine()
        elapsed = wall - self._wall
        self.share = (cpu - self._cpu) / elapsed
        idle = self._idle
        while idle and idle[0][0] < wall - IDLE_MEMORY:
            idle.popleft()
        if sample is not None and self._machine is not None and sample[1] > self._machine[1]:
            share_idle = (sample[0] - self._machine[0]) / (sample[1] - self._machine[1])  # of all cores
            idle.append((wall, max(0.0, share_idle) * (os.cpu_count() or 1)))
        self.idle_cores = max((cores for _, cores in idle), default=None)
        self._wall, self._cpu, self._machine = wall, cpu, sample
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
_sampler: tuple[asyncio.AbstractEventLoop, asyncio.TimerHandle] | None = None


def _read_load(running: int) -> None:
    _load.read(wall=time.monotonic(), cpu=time.process_time(), running=running, machine=machine_cpu)


def _keep_sampling(hub: StreamHub) -> None:
    """Read the load every CPU_WINDOW while streams run, so the window an admission looks at is
    the last fraction of a second, not everything since the admission before (a quiet minute)."""
    global _sampler
    loop = asyncio.get_running_loop()
    if _sampler is not None and _sampler[0] is loop:
        return
    _load.restart()
    _read_load(running_streams(hub))

    def tick() -> None:
        global _sampler
        running = running_streams(hub)
        _read_load(running)
        _sampler = (loop, loop.call_later(CPU_WINDOW, tick)) if running else None

    _sampler = (loop, loop.call_later(CPU_WINDOW, tick))


def machine_cpu(path: str = PROC_STAT) -> tuple[float, float] | None:
    """The machine's (idle, total) CPU time since boot, in clock ticks, from Linux's /proc/stat
    (its first line sums every core; idle includes iowait); None where there is none."""
    try:
        with open(path, "rb") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if len(fields) < 5 or fields[0] != b"cpu":
        return None
    ticks = [float(value) for value in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return ticks[3] + ticks[4], sum(ticks)


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
    _keep_sampling(hub)
    _read_load(running)
    admissions = _admissions.setdefault(hub, Admissions())
    # The newcomer counts too: on a machine with no idle core, even one more is too many.
    if running >= MIN_STREAMS and admissions.projected(_load, now) + _load.per_stream > _load.capacity:
        raise ProtocolError(BUSY)
    admissions.add(now)


__all__ = ["BUSY", "BUSY_CPU", "COST_MEMORY", "Admissions", "ProcessLoad", "machine_cpu", "refuse_when_busy",
           "running_streams"]
