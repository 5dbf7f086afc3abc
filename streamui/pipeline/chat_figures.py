"""The live figures of a chat stream: what they say (time to first token, tokens shown and
generated, elapsed time, the strategy) and when a frame carries them.

`LiveFigures` is the part of `ChatPipeline` that computes the figures and rate-limits them
(at most one change per `figures_interval`, none when nothing changed, at once when forced);
the pipeline (`chat.ChatPipeline`) owns the state it reads and writes, and raises
`_figures_due` / `_figures_forced` itself, since `wake_at` reads them several times per token.
"""

from __future__ import annotations

from .metrics import StreamMetrics
from .smoothing import SmoothingStrategy


class LiveFigures:
    strategies: list[SmoothingStrategy]
    mode: str
    show_figures: bool
    figures_interval: float
    metrics: StreamMetrics
    received: list[str]
    reasoning: list[str]
    usage_tokens: int | None
    _arrived_events: int
    _arrived_chars: int
    _figures_due: bool
    _figures_forced: bool
    _last_figures: float
    _last_values: dict[str, str] | None

    def _figures(self, now: float, *, force: bool) -> dict[str, str] | None:
        due, self._figures_due = self._figures_due, False
        force, self._figures_forced = force or self._figures_forced, False
        if not self.show_figures or not (due or force):
            return None
        if not force and now - self._last_figures < self.figures_interval:
            return None
        values = self.figures()
        if not force and values == self._last_values:
            return None  # nothing changed: no frame for it
        self._last_figures, self._last_values = now, values
        return values

    def final_figures(self, now: float) -> dict[str, str] | None:
        """The figures a stream's last frame carries (after Stop): all of them, when the page shows figures."""
        return self._figures(now, force=True)

    def figures(self) -> dict[str, str]:
        ttft = self.metrics.ms_since_start(self.metrics.first_visible)
        # One text or draft event is about one token. Live, tokens shown are estimated from characters at
        # the stream's own chars-per-token (drafts count: a speculative stream's confirmed text is
        # shown); the StreamRecord gets a tiktoken count at the end.
        received, chars = self._arrived_events, self._arrived_chars
        shown = round(self.metrics.chars_shown * received / chars) if received and chars else 0
        return {
            "ttft": "–" if ttft is None else f"{ttft:.0f} ms",
            "shown": str(shown),
            "generated": str(self.usage_tokens if self.usage_tokens is not None
                             else len(self.received) + len(self.reasoning)),
            "elapsed": f"{self.metrics.elapsed():.1f} s",
            "strategy": " | ".join(s.name for s in self.strategies) if self.mode == "chat" else "json",
        }


__all__ = ["LiveFigures"]
