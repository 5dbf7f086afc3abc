"""The live driver of a smoothing strategy: one wake-up timer per stream.

Producers call `push`/`finish` as committed text arrives; `run` polls the strategy
whenever something arrived or the strategy's own wake time has come, and hands each
reveal to `emit`. No task per token: one waiting coroutine per stream.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from .clock import Clock, LoopClock
from .smoothing import SmoothingStrategy

Emit = Callable[[str], Awaitable[None]]


class Pacer:
    def __init__(self, strategy: SmoothingStrategy, emit: Emit, clock: Clock | None = None) -> None:
        self.strategy = strategy
        self._emit = emit
        self._clock = clock or LoopClock()
        self._wakeup = asyncio.Event()

    def push(self, text: str) -> None:
        if text:
            self.strategy.push(text, self._clock.now())
            self._wakeup.set()

    def finish(self) -> None:
        self.strategy.finish(self._clock.now())
        self._wakeup.set()

    async def run(self) -> None:
        """Reveal until the strategy says it is done (after `finish`)."""
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle | None = None
        try:
            while True:
                # Cleared before polling, so a push during `emit` is never missed.
                self._wakeup.clear()
                reveal = self.strategy.poll(self._clock.now())
                if reveal.text:
                    await self._emit(reveal.text)
                if reveal.done:
                    return
                if reveal.wake_at is not None:
                    delay = reveal.wake_at - self._clock.now()
                    if delay <= 0:
                        await asyncio.sleep(0)
                        continue
                    # A timer handle, not a task: pacing stays one coroutine per stream.
                    timer = loop.call_later(delay, self._wakeup.set)
                await self._wakeup.wait()
                if timer is not None:
                    timer.cancel()
                    timer = None
        finally:
            if timer is not None:
                timer.cancel()


__all__ = ["Pacer", "Emit"]
