"""What an answer cut short needs to end as a finished markdown document.

A stopped or interrupted answer ends mid-construct: an open `**`, an unclosed code span or fence,
a list marker with nothing after it. Rendered whole, those show as literal `**` or an empty bullet.
`closing(text)` returns what to drop from the end and what to append so the last block closes,
in the spirit of Streamdown's remend: only the open block is looked at, earlier ones are settled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it.common.utils import isMdAsciiPunct, isPunctChar, isWhiteSpace

_EMPTY_ITEM = re.compile(r"(?:^|\n)[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})", re.M)
_CODE_SPAN = re.compile(r"`+")
_TRAILING_MARKERS = re.compile(r"[*_`]+\s*\Z")  # also before a line break ("**" then "\n")
_LIST_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+", re.M)


@dataclass(frozen=True, slots=True)
class Closing:
    drop: int  # characters to remove from the end (an empty list item)
    append: str  # what closes the constructs left open


def closing(text: str) -> Closing:
    end = _closing(text)
    kept = text[: len(text) - end.drop]
    trailing = _TRAILING_MARKERS.search(kept)
    if end.append and trailing is not None and not end.append.startswith("\n"):
        # The unmatched marker is the last thing written ("1*", "so **"): it opens nothing, drop it.
        shorter = kept[: trailing.start()]
        again = _closing(shorter)
        end = Closing(len(text) - len(shorter) + again.drop, again.append)
        kept = text[: len(text) - end.drop]
    if end.drop:
        end = Closing(len(text) - len(kept.rstrip(" \t")), end.append)
    return end


def _closing(text: str) -> Closing:
    drop = 0
    empty = _EMPTY_ITEM.search(text)
    if empty is not None:
        drop = len(text) - empty.start()
    body = text[: len(text) - drop]
    fences = _FENCE.findall(body)
    if len(fences) % 2 == 1:  # inside an open code fence: close it, nothing inside is markdown
        return Closing(drop, "\n" + fences[-1])
    block = re.split(r"\n[ \t]*\n", body)[-1]
    code = _CODE_SPAN.findall(block)
    if len(code) % 2 == 1:
        return Closing(drop, code[-1])
    plain = _CODE_SPAN.sub("", re.sub(r"`+[^`]*`+", "", block))
    suffix = ""
    for marker in ("**", "__"):
        if plain.count(marker) % 2 == 1 and _can_open(plain, plain.rfind(marker), len(marker)):
            suffix += marker
        plain = plain.replace(marker, "")
    plain = _LIST_BULLET.sub("", plain)  # "* item" is a bullet, not emphasis
    for marker in ("*", "_"):
        runs = [at for at, c in enumerate(plain) if c == marker and not (marker == "_" and _inside_word(plain, at))]
        if len(runs) % 2 == 1:
            suffix += marker
    if suffix and body[-1:].isspace():
        # The closer goes right after the text: after a space or a line break it could close nothing.
        drop += len(body) - len(body.rstrip())
    return Closing(drop, suffix)


def _can_open(text: str, at: int, size: int) -> bool:
    """Whether the delimiter run at `at` is left-flanking (CommonMark, with markdown-it's own
    character classes, as its `scanDelims` decides): "1**." cannot open anything, whatever follows
    it, so it is the model's literal text and no closer is added for it."""
    if not text[at + size:].strip():
        return True  # the last thing written: the cut left it open (`closing` drops it)
    after = text[at + size]
    before = text[at - 1] if at else " "  # the start of the text counts as whitespace, as in scanDelims
    if isWhiteSpace(ord(after)):
        return False
    return not _punctuation(after) or isWhiteSpace(ord(before)) or _punctuation(before)


def _punctuation(char: str) -> bool:
    return isMdAsciiPunct(ord(char)) or isPunctChar(char)


def _inside_word(text: str, at: int) -> bool:
    return 0 < at < len(text) - 1 and text[at - 1].isalnum() and text[at + 1].isalnum()


__all__ = ["Closing", "closing"]
