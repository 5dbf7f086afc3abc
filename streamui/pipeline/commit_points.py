"""Where held answer text may commit: sentence and clause ends, code lines, fences.

The text rules of the commit stage (see `commit`), as plain functions of the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, Literal

PointKind = Literal["sentence", "clause", "code"]

SENTENCE_END: Final = ".!?…"
CLAUSE_END: Final = ",;:"
CJK_SENTENCE_END: Final = "。！？"
CJK_CLAUSE_END: Final = "，、；："
_CLOSERS: Final = "\"'”’)]*_"
_ABBREVIATIONS: Final = frozenset(
    {"e.g", "i.e", "vs", "cf", "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "approx", "fig"}
)
LINE_MARKERS: Final = re.compile(r"(?:[-*+][ \t]+|\d{1,9}[.)][ \t]+|>[ \t]*|#{1,6}[ \t]+)*")
ENDS_SENTENCE: Final = re.compile(r"(?:[.!?…。！？][\"'”’)\]*_]*\s*|\n\s*)$")


def scan_points(held: str, code: Sequence[bool], final: bool, start: int, found: list[tuple[int, PointKind]]) -> int:
    """Append the commit points of `held` from index `start` on to `found`, in order: (index
    after the point, kind); `code`: which characters are inside a fenced code block (only
    newlines count there). Returns where a later scan of the same text, grown at its end,
    goes on from: the end, or a point the next character decides."""
    n = len(held)
    for i in range(start, n):
        ch = held[i]
        if code[i]:
            if ch == "\n":
                found.append((i + 1, "code"))
        elif ch == "\n" or ch in CJK_SENTENCE_END:
            found.append((i + 1, "sentence"))
        elif ch in CJK_CLAUSE_END:
            found.append((i + 1, "clause"))
        elif ch in SENTENCE_END or ch in CLAUSE_END:
            j = i + 1
            if ch in SENTENCE_END:
                while j < n and held[j] in _CLOSERS:
                    j += 1
            if j == n and not final:
                return i  # the next character decides whether this is a point
            if j < n and not held[j].isspace():
                continue
            if ch in CLAUSE_END:
                found.append((j, "clause"))
            elif ch != "." or not is_abbreviation(held, i):
                found.append((j, "sentence"))
    return n


class PointScanner:
    """The commit points of the held text, scanned once per character while the text only
    grows at its end; `reset` whenever anything else changes it (a commit, a correction)."""

    def __init__(self) -> None:
        self._found: list[tuple[int, PointKind]] = []
        self._next = 0

    def reset(self) -> None:
        self._found = []
        self._next = 0

    def points(self, held: str, code: Sequence[bool], final: bool) -> list[tuple[int, PointKind]]:
        """Every commit point of `held` (without `final`: up to one the next character decides)."""
        if final:
            found: list[tuple[int, PointKind]] = []
            scan_points(held, code, True, 0, found)
            return found
        self._next = scan_points(held, code, False, self._next, self._found)
        return self._found


def skip_space(text: str, i: int, end: int | None = None) -> int:
    end = len(text) if end is None else end
    while i < end and text[i].isspace():
        i += 1
    return i


def is_abbreviation(text: str, dot: int) -> bool:
    start = dot
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    return text[start:dot].lower() in _ABBREVIATIONS


_FENCE_OPEN: Final = re.compile(r"[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+|>[ \t]?)*(`{3,}|~{3,})(.*)")
_FENCE_CLOSE: Final = re.compile(r"[ \t]*(?:>[ \t]?)*(`{3,}|~{3,})[ \t]*")


class FenceTracker:
    """Which characters are inside a fenced code block (judged at their line start)."""

    def __init__(self) -> None:
        self.fence: str | None = None
        self._line = ""

    def feed(self, text: str) -> list[bool]:
        flags: list[bool] = []
        start = 0
        while start < len(text):
            nl = text.find("\n", start)
            end = len(text) if nl < 0 else nl + 1
            flags.extend([self.fence is not None] * (end - start))
            self._line += text[start:end]
            if nl >= 0:
                self._end_line(self._line[:-1])
                self._line = ""
            start = end
        return flags

    def _end_line(self, line: str) -> None:
        if self.fence is None:
            m = _FENCE_OPEN.fullmatch(line)
            if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                self.fence = m.group(1)
        else:
            m = _FENCE_CLOSE.fullmatch(line)
            if m and m.group(1)[0] == self.fence[0] and len(m.group(1)) >= len(self.fence):
                self.fence = None



__all__ = [
    "CJK_CLAUSE_END",
    "CJK_SENTENCE_END",
    "CLAUSE_END",
    "ENDS_SENTENCE",
    "LINE_MARKERS",
    "SENTENCE_END",
    "FenceTracker",
    "PointKind",
    "PointScanner",
    "is_abbreviation",
    "scan_points",
    "skip_space",
]
