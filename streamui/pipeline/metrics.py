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
    first_reasoning_shown: float | None = None
    first_visible: float | None = None
    last_arrival: float | None = None
    last_reveal: float | None = None
    arrival_gaps: list[float] = field(default_factory=list)
    reveal_gaps: list[float] = field(default_factory=list)
    chars_received: int = 0
    chars_shown: int = 0
    reveals: int = 0
    # (seconds since start, cumulative characters): what arrived and what was shown, over time.
    arrival_marks: list[tuple[float, int]] = field(default_factory=list)
    reveal_marks: list[tuple[float, int]] = field(default_factory=list)

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
        self.arrival_marks.append((now - self.started_at, self.chars_received))

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
        self.reveal_marks.append((now - self.started_at, self.chars_shown))

    @property
    def completion_delay(self) -> float | None:
        """Last reveal minus last arrival: how long the pacing kept text back at the end."""
        if self.last_reveal is None or self.last_arrival is None:
            return None
        return max(0.0, self.last_reveal - self.last_arrival)

    def timeline(self, max_points: int = 2000) -> dict[str, list[list[float]]]:
        """Arrivals and reveals as [ms, cumulative chars] pairs, thinned to a bounded size."""

        def thin(marks: list[tuple[float, int]]) -> list[list[float]]:
            step = max(1, len(marks) // max_points)
            kept = marks[::step]
            if marks and kept[-1] != marks[-1]:
                kept.append(marks[-1])
            return [[round(t * 1000, 1), chars] for t, chars in kept]

        return {"arrivals": thin(self.arrival_marks), "reveals": thin(self.reveal_marks)}

    def ms_since_start(self, t: float | None) -> float | None:
        return None if t is None else round((t - self.started_at) * 1000, 2)


__all__ = ["StreamMetrics"]
