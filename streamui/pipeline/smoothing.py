"""Smoothing strategies: decide when each piece of committed text is revealed.

A strategy is a plain object driven by two kinds of input, arrivals (`push`) and the
end of the upstream (`finish`), and polled for what to reveal (`poll`). It never
sleeps and never reads a clock of its own: the caller passes `now`. Strategies run only
inside the chat pipeline (streamui.pipeline.chat): live under streamui.generation, in the
benchmarks under its virtual-clock driver (streamui.pipeline.virtual), so benchmark
figures describe what users get.

Contract every strategy keeps:
- the concatenation of everything revealed equals the concatenation of everything
  pushed (never drops, reorders or invents text);
- `poll` reveals nothing that has not been pushed (causality);
- after `finish`, polls eventually return `done=True` with everything revealed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar

from .registry import Registry


@dataclass(frozen=True, slots=True)
class Reveal:
    text: str
    """Text to reveal now; may be empty."""
    wake_at: float | None
    """Poll again at this time even if nothing arrives; None: only on the next arrival."""
    done: bool = False
    """The upstream ended and everything has been revealed."""


class SmoothingStrategy(ABC):
    name: ClassVar[str]

    @abstractmethod
    def push(self, text: str, now: float) -> None:
        """Committed text arrived at `now`."""

    @abstractmethod
    def finish(self, now: float) -> None:
        """The upstream ended at `now`; nothing more will be pushed."""

    @abstractmethod
    def poll(self, now: float) -> Reveal:
        """What to reveal at `now`, and when to be polled next."""

    def set_frame(self, seconds: float) -> None:
        """Reveal at most once per `seconds` from now on: the live path lengthens a strategy's frame
        under load (streamui.frame_governor) and shortens it back. A strategy without frames of its
        own ignores it (the default)."""
        return

    def observe_upstream(self, chars: int, now: float) -> None:
        """`chars` characters of answer text left the upstream at `now` (before the commit stage).

        With a commit stage in front, pushes come a phrase at a time; a strategy that
        estimates the model's pace should learn it from these raw arrivals instead.
        Without a commit stage this is never called. The default ignores it.
        """
        return


class Passthrough(SmoothingStrategy):
    """Reveal text the moment it arrives: the baseline every other strategy is judged against."""

    name = "passthrough"

    def __init__(self) -> None:
        self._pending: list[str] = []
        self._finished = False

    def push(self, text: str, now: float) -> None:
        if text:
            self._pending.append(text)

    def finish(self, now: float) -> None:
        self._finished = True

    def poll(self, now: float) -> Reveal:
        text = "".join(self._pending)
        self._pending.clear()
        return Reveal(text, None, done=self._finished)

    def __repr__(self) -> str:
        return "Passthrough()"


StrategyFactory = Callable[[], SmoothingStrategy]

STRATEGIES: Registry[SmoothingStrategy] = Registry("smoothing strategy", {"passthrough": Passthrough})
register_strategy = STRATEGIES.register
make_strategy = STRATEGIES.make
strategy_names = STRATEGIES.names


_MAX_IDLE_POLLS = 1000


class SpinGuard:
    """The next time to poll a strategy, failing one that keeps asking to be polled at once.

    A strategy that asks again and again to be polled now, revealing nothing, would spin
    forever on a virtual clock, and spin the event loop live: every lane of the chat
    pipeline (streamui.pipeline.lane) runs its polls through this.
    """

    def __init__(self, strategy: SmoothingStrategy) -> None:
        self._strategy = strategy
        self._idle_polls = 0
        self._spun_at: float | None = None

    def next_wake(self, reveal: Reveal, now: float) -> float | None:
        wake_at = reveal.wake_at
        if wake_at is not None and wake_at <= now and not reveal.text and now == self._spun_at:
            self._idle_polls += 1
            if self._idle_polls > _MAX_IDLE_POLLS:
                raise RuntimeError(f"{self._strategy!r} keeps asking to be polled at {now!r} without revealing")
        else:
            self._idle_polls = 0
            self._spun_at = now
        return None if wake_at is None else max(wake_at, now)


@dataclass(frozen=True, slots=True)
class Arrival:
    t: float
    text: str


def revealed_text(schedule: Iterable[Arrival]) -> str:
    return "".join(a.text for a in schedule)


# The built-in strategies register themselves; imported last because they
# subclass SmoothingStrategy from this module.
from . import strategies as _builtin  # noqa: E402,F401

__all__ = [
    "STRATEGIES",
    "Arrival",
    "Passthrough",
    "Reveal",
    "SmoothingStrategy",
    "SpinGuard",
    "StrategyFactory",
    "make_strategy",
    "register_strategy",
    "revealed_text",
    "strategy_names",
]
