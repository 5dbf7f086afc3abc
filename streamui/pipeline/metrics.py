"""Per-stream timing figures, collected as the stream runs (plain Python, injected clock)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .clock import Clock


@dataclass(slots=True)
class StreamMetrics:
    clock: Clock
    started_at: float = field(init=False)
    first_upstream_token: float | None = None
    first_reasoning: float | None = None
    first_visible: float | None = None
    last_arrival: float | None = None
    last_reveal: float | None = None
    arrival_gaps: list[float] = field(default_factory=list)
    reveal_gaps: list[float] = field(default_factory=list)
    chars_received: int = 0
    chars_shown: int = 0
    reveals: int = 0

    def __post_init__(self) -> None:
        self.started_at = self.clock.now()

    def elapsed(self) -> float:
        return self.clock.now() - self.started_at

    def on_arrival(self, text: str) -> None:
        now = self.clock.now()
        if self.first_upstream_token is None:
            self.first_upstream_token = now
        if self.last_arrival is not None:
            self.arrival_gaps.append(now - self.last_arrival)
        self.last_arrival = now
        self.chars_received += len(text)

    def on_reasoning(self) -> None:
        now = self.clock.now()
        if self.first_reasoning is None:
            self.first_reasoning = now
        if self.first_upstream_token is None:
            self.first_upstream_token = now

    def on_reveal(self, text: str) -> None:
        now = self.clock.now()
        if self.first_visible is None:
            self.first_visible = now
        if self.last_reveal is not None:
            self.reveal_gaps.append(now - self.last_reveal)
        self.last_reveal = now
        self.chars_shown += len(text)
        self.reveals += 1

    def ms_since_start(self, t: float | None) -> float | None:
        return None if t is None else round((t - self.started_at) * 1000, 2)


__all__ = ["StreamMetrics"]
