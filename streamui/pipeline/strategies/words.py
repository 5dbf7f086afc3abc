"""Pending text cut into whole words, as it arrives.

A unit is optional leading whitespace, a word, and the first whitespace character
after it: complete as soon as that whitespace arrives. Whitespace is invisible, so
cutting inside a run of it is harmless; a word is only cut when it grows past
`max_word` characters (URLs, base64, languages written without spaces), so one
long word can never hold the stream back.
"""

from __future__ import annotations

import re
from collections import deque

_SPACE = re.compile(r"\s")


class WordQueue:
    def __init__(self, *, max_word: int | None = 32) -> None:
        if max_word is not None and max_word < 1:
            raise ValueError(f"max_word must be positive, got {max_word}")
        self._max_word = max_word
        self._units: deque[str] = deque()
        self._tail = ""
        self._unit_chars = 0

    def push(self, text: str) -> None:
        tail = self._tail
        if tail.strip() and _SPACE.search(text) is None:
            # The word in progress just grows: no need to rescan it (a long run of
            # text without spaces would make every push cost its whole length).
            limit = self._max_word
            if limit is None or len(tail.lstrip()) + len(text) <= limit:
                self._tail = tail + text
                return
        self._tail = tail + text
        self._cut()

    def _cut(self) -> None:
        tail = self._tail
        start = 0
        n = len(tail)
        limit = self._max_word
        while start < n:
            i = start
            while i < n and tail[i].isspace():
                i += 1
            word_start = i
            if limit is not None and word_start - start > limit:
                end = start + limit
                self._units.append(tail[start:end])
                self._unit_chars += limit
                start = end
                continue
            while i < n and not tail[i].isspace():
                i += 1
            if i < n:
                end = i + 1
            elif limit is not None and i - word_start > limit:
                end = word_start + limit
            else:
                break
            unit = tail[start:end]
            self._units.append(unit)
            self._unit_chars += len(unit)
            start = end
        if start:
            self._tail = tail[start:]

    def __len__(self) -> int:
        """Complete units waiting."""
        return len(self._units)

    @property
    def tail(self) -> str:
        """The incomplete last word (and whitespace before it), not yet a unit."""
        return self._tail

    @property
    def pending_chars(self) -> int:
        return self._unit_chars + len(self._tail)

    def first_len(self) -> int:
        """Length of the next unit, 0 when none is complete."""
        return len(self._units[0]) if self._units else 0

    def has_visible(self) -> bool:
        """Whether anything but whitespace is waiting."""
        tail = self._tail
        return any(not unit.isspace() for unit in self._units) or (tail != "" and not tail.isspace())

    def take(self, units: int, max_chars: int) -> list[str]:
        """Up to `units` complete units, as many as fit in `max_chars` (possibly none)."""
        out: list[str] = []
        used = 0
        q = self._units
        while units > 0 and q and used + len(q[0]) <= max_chars:
            unit = q.popleft()
            out.append(unit)
            used += len(unit)
            units -= 1
        self._unit_chars -= used
        return out

    def take_tail(self, max_chars: int) -> str:
        """The incomplete tail, or as much of it as fits, once it is no longer worth holding."""
        piece = self._tail[:max_chars]
        self._tail = self._tail[len(piece) :]
        return piece

    def take_first_word(self, max_chars: int) -> str:
        """Up to `max_chars`: the units up to and including the first visible one; when no
        complete unit is visible, those whitespace units and then the visible tail (the
        first visible text is never held for the rest of its word)."""
        text = ""
        q = self._units
        while q and len(text) + len(q[0]) <= max_chars:
            unit = q.popleft()
            self._unit_chars -= len(unit)
            text += unit
            if not unit.isspace():
                return text
        if not q:
            text += self.take_tail(max_chars - len(text))
        return text

    def take_all(self, max_chars: int) -> str:
        """Whole units then the tail, up to `max_chars` (drain after the upstream ended)."""
        text = "".join(self.take(len(self._units), max_chars))
        if not self._units:
            text += self.take_tail(max_chars - len(text))
        return text


__all__ = ["WordQueue"]
