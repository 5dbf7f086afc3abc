"""Fewer frames per stream when the process is busy: the frame interval every live stream reveals at.

A stream's cost is mostly per frame (a reveal renders, the journal takes an entry, the socket
sends it), so a process near a core of CPU is relieved most by revealing less often, each frame
carrying more words. The governor measures the process's CPU time per wall second (all threads)
over windows of WINDOW seconds. Above BUSY_SHARE of a core it lengthens the frame a STEP at a time,
up to `slowest`; below IDLE_SHARE it shortens it back to `fastest`. Between the two it holds, so a
frame rate that relieved the process does not undo itself the next window.

The bounds: 30 frames a second when there is room, never fewer than `min_frame_rate`
(`STREAMUI['MIN_FRAME_RATE']`). Its default, 30, keeps the governor off: fewer frames cost
smoothness as well as saving CPU, and the trade measured here is not one to make for every site
(deploy/LOAD.md, sixth round). At 300 clients, 15 frames a second admitted 143 streams against 101
within the p99 target and cut CPU per stream-second by a fifth; at 1,000 clients (a burst 5x over
capacity) 15 and 20 a second left the reveal gaps' p99 81-127 ms over a lone stream's, against
41-66 ms at 30. A site that would rather serve more streams a little less smoothly sets 15-20.
Plain Python with injected clocks: the live path asks `frame()` on every pacing pass, which reads
the clocks and compares, nothing more.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .pipeline.strategies.adaptive import AdaptiveConfig

FASTEST = AdaptiveConfig().frame  # the adaptive strategy's own: 30 frames a second
WINDOW = 0.5  # seconds of CPU and wall time per decision
BUSY_SHARE = 0.7  # of one core: above it, fewer frames
IDLE_SHARE = 0.45  # below it, more frames again
STEP = 1.25  # the frame interval's factor per decision


class FrameGovernor:
    def __init__(self, *, min_frame_rate: float = 30.0, fastest: float = FASTEST,
                 clock: Callable[[], float] = time.monotonic,
                 cpu: Callable[[], float] = time.process_time) -> None:
        if min_frame_rate <= 0:
            raise ValueError("min_frame_rate must be positive")
        self.fastest = fastest
        self.slowest = max(fastest, 1 / min_frame_rate)
        self._clock = clock
        self._cpu = cpu
        self._frame = fastest
        self._at = clock()
        self._cpu_at = cpu()
        self.share = 0.0  # the last window's CPU share

    @property
    def busy(self) -> bool:
        """The frames are longer than `fastest` now."""
        return self._frame > self.fastest

    def frame(self) -> float:
        """The frame interval, in seconds, for reveals from now on."""
        if self.slowest == self.fastest:
            return self.fastest  # off (MIN_FRAME_RATE 30, the default): no clock to read per pass
        now = self._clock()
        if now - self._at >= WINDOW:
            cpu = self._cpu()
            self.share = (cpu - self._cpu_at) / (now - self._at)
            self._at, self._cpu_at = now, cpu
            if self.share > BUSY_SHARE:
                self._frame = min(self.slowest, self._frame * STEP)
            elif self.share < IDLE_SHARE:
                self._frame = max(self.fastest, self._frame / STEP)
        return self._frame


_governor: FrameGovernor | None = None


def process_governor() -> FrameGovernor:
    """The one governor of this process (its CPU is one budget, whatever loop asks)."""
    global _governor
    if _governor is None:
        from .conf import get_settings  # Django settings: read when the first stream starts

        _governor = FrameGovernor(min_frame_rate=float(get_settings().min_frame_rate))
    return _governor


def reset_process_governor() -> None:
    """Forget the governor (settings changed: tests)."""
    global _governor
    _governor = None


__all__ = ["BUSY_SHARE", "FASTEST", "IDLE_SHARE", "STEP", "WINDOW", "FrameGovernor", "process_governor",
           "reset_process_governor"]
