"""`fixed`: one word, then a fixed delay (the approach of the Vercel AI SDK's smoothStream).

smoothStream's default: chunks matched by /\\S+\\s+/ (a word is only released once the
whitespace after it has arrived), 10 ms after each one, the rest flushed when the
stream ends. It keeps no cushion, so every upstream pause shows as it happened, and
its pace is set by the delay, not by the upstream.
"""

from __future__ import annotations

from ..smoothing import Reveal, SmoothingStrategy
from .words import WordQueue

DEFAULT_DELAY = 0.010


class FixedDelay(SmoothingStrategy):
    name = "fixed"

    def __init__(self, *, delay: float = DEFAULT_DELAY) -> None:
        if delay < 0:
            raise ValueError(f"delay must not be negative, got {delay}")
        self.delay = delay
        self._words = WordQueue(max_word=None)
        self._finished = False
        self._next_at = float("-inf")

    def push(self, text: str, now: float) -> None:
        self._words.push(text)

    def finish(self, now: float) -> None:
        self._finished = True

    def poll(self, now: float) -> Reveal:
        words = self._words
        if now < self._next_at:
            return Reveal("", self._next_at)
        text = "".join(words.take(1, words.first_len()))
        if not text and self._finished:
            text = words.take_all(words.pending_chars)
        if text:
            self._next_at = now + self.delay
        done = self._finished and words.pending_chars == 0
        if done:
            return Reveal(text, None, done=True)
        more = len(words) > 0 or (self._finished and words.pending_chars > 0)
        return Reveal(text, self._next_at if more else None)

    def __repr__(self) -> str:
        return f"FixedDelay(delay={self.delay!r})"


__all__ = ["DEFAULT_DELAY", "FixedDelay"]
