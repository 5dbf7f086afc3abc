"""What changed in the open markdown tail, as the smallest out-of-band swap that makes it.

The tail (`<div id="OUT-tail">`) is re-rendered on every reveal, but usually the new
HTML is the old with text (or whole elements) inserted before the closing tags at
its end: `<p>Hello wor</p>` becomes `<p>Hello world</p>`, a list gains an item. Such
a change goes out as an append into the innermost open element that still holds
(`hx-swap-oob="beforeend:#OUT-tail > ol:last-child > li:last-child"`), so bytes per
stream grow with the answer, not with the square of its open block. Anything else
(the block changed shape, froze, a mark landed inside it) is a full replace, as before.

Every element on that path is the last element child of its parent, because only
closing tags and whitespace follow it in the old HTML. Table parts are never on a path
nor in an append: the HTML parser moves them about (implicit tbody, foster parenting),
so the DOM would not mirror the string.
"""

from __future__ import annotations

import itertools
import re
from typing import Final

_CLOSE_TAG: Final = re.compile(r"</([a-z][a-z0-9]*)>")
_TAG: Final = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>")
_VOID: Final = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                          "track", "wbr"})
_NO_PATH: Final = frozenset({"table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "colgroup", "col"})


def _closers(html: str) -> list[tuple[int, str]]:
    """The closing tags at the very end of `html`, outermost first: (start offset, tag)."""
    out: list[tuple[int, str]] = []
    end = _rstrip_at(html, len(html))
    while end and html[end - 1] == ">":
        start = html.rfind("</", 0, end)
        m = _CLOSE_TAG.fullmatch(html, start, end) if start >= 0 else None
        if m is None:
            break
        out.append((start, m.group(1)))
        end = _rstrip_at(html, start)
    return out


def _rstrip_at(html: str, end: int) -> int:
    while end and html[end - 1] in " \t\r\n":
        end -= 1
    return end


def _balanced(fragment: str) -> bool:
    """Every element opened in `fragment` is closed in it, in order, and none is a table part."""
    stack: list[str] = []
    for m in _TAG.finditer(fragment):
        closing, tag, self_closing = m.group(1), m.group(2).lower(), m.group(3)
        if tag in _NO_PATH:
            return False
        if tag in _VOID or self_closing:
            continue
        if not closing:
            stack.append(tag)
        elif not stack or stack.pop() != tag:
            return False
    return not stack and "<" not in _TAG.sub("", fragment)


def tail_append(old: str, new: str) -> tuple[tuple[str, ...], str] | None:
    """(the path of tags to the element to append into, the HTML to append), or None.

    `new` must be `old` with the appended HTML inserted just before the closing tags of
    that element (the empty path: at the end of the tail itself)."""
    if len(new) <= len(old) or not old:
        return None
    closers = _closers(old)
    # Deepest first: the smallest insertion (text into the open paragraph) wins.
    for depth in range(len(closers), -1, -1):
        path = tuple(tag for _, tag in closers[:depth])
        if any(tag in _NO_PATH for tag in path):
            continue
        at = closers[depth - 1][0] if depth else len(old)
        if not (new.startswith(old[:at]) and new.endswith(old[at:])):
            continue
        added = new[at: len(new) - (len(old) - at)]
        if added and _balanced(added):
            return path, added
    return None


def tail_appends(old: str, new: str) -> list[tuple[tuple[str, ...], str]] | None:
    """`tail_append` at several depths at once: [(path, HTML to append)], deepest (first in the
    string) first, the order they must be applied in (an append into an outer element adds a
    new last child, which the deeper paths would then name); or None.

    `new` must be `old` with balanced HTML inserted just before the closing tags of some of the
    elements on the path (and at the end of the tail): a paragraph's last words and the next
    list item in one reveal."""
    single = tail_append(old, new)
    if single is not None:
        return [single]
    if len(new) <= len(old) or not old:
        return None
    closers = _closers(old)
    n = len(closers)
    # Insertion points in string order: inside the deepest element ... inside the outermost, then the tail.
    points = [closers[d - 1][0] for d in range(n, 0, -1)] + [len(old)]
    paths = [tuple(tag for _, tag in closers[:d]) for d in range(n, -1, -1)]
    segments = [old[: points[0]]] + [old[a:b] for a, b in itertools.pairwise(points)]
    if not new.startswith(segments[0]):
        return None
    found: list[tuple[tuple[str, ...], str]] = []
    tried: set[tuple[int, int]] = set()

    def place(i: int, pos: int) -> bool:
        """Insertions i.. with new[pos:] still to account for."""
        if (i, pos) in tried:
            return False
        tried.add((i, pos))
        last = i == len(paths) - 1
        ends = [len(new)] if last else _occurrences(new, segments[i + 1], pos)
        for end in ends:
            added = new[pos:end]
            if added and (any(tag in _NO_PATH for tag in paths[i]) or not _balanced(added)):
                continue
            if last or place(i + 1, end + len(segments[i + 1])):
                if added:
                    found.append((paths[i], added))
                return True
        return False

    if not place(0, len(segments[0])):
        return None
    found.reverse()  # collected innermost-last on the way back
    return found or None


def _occurrences(text: str, part: str, start: int) -> list[int]:
    out: list[int] = []
    at = text.find(part, start)
    while at >= 0:
        out.append(at)
        at = text.find(part, at + 1) if part else -1
    return out


def top_level_elements(markup: str) -> int | None:
    """How many top-level elements `markup` is, if it is only elements with whitespace between and
    after them (starting with an element); None otherwise."""
    if not markup.startswith("<") or "<!" in markup:
        return None
    stack: list[str] = []
    count = at = 0
    for m in _TAG.finditer(markup):
        if not stack and markup[at:m.start()].strip(" \t\n"):
            return None  # text outside the elements
        closing, tag = m.group(1), m.group(2).lower()
        if closing:
            if not stack or stack.pop() != tag:
                return None
        else:
            count += not stack
            if not (tag in _VOID or m.group(3)):
                stack.append(tag)
        at = m.end()
    if stack or markup[at:].strip(" \t\n"):
        return None
    return count


__all__ = ["tail_append", "tail_appends", "top_level_elements"]
