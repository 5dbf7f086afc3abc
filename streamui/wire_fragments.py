"""Our own fragments read back (streamui.wire): which one is an append of text, an append of the
tail's own markup, a freeze, a tail replacement or a correction mark, and where each top-level
element of an entry's HTML starts. Only fragments streamui renders are read, with regexes that
match exactly what `fragments` writes; anything else stays HTML. Plain Python, no Django."""

from __future__ import annotations

import html
import re
from typing import Final

_TEXT: Final = r"((?:[^&<\r\x00]|&(?:amp|lt|gt|quot|#39|#x27|#34);)*)"
_APPEND_PATH: Final = re.compile(r'<div hx-swap-oob="beforeend:(#[^"<>]+)">' + _TEXT + r"</div>")
_APPEND_ROOT: Final = re.compile(r'<div id="([\w-]+-tail)" hx-swap-oob="beforeend">' + _TEXT + r"</div>")
_MARKUP_PATH: Final = re.compile(
    r'<div hx-swap-oob="beforeend:#([\w-]+)-tail((?: &gt; [a-z][a-z0-9]*:last-child)*)">(.*)</div>', re.DOTALL)
REPLACE_TAIL: Final = re.compile(r'<div id="([\w-]+)-tail" hx-swap-oob="innerHTML">(.*)</div>', re.DOTALL)
_MARKUP_ROOT: Final = re.compile(r'<div id="([\w-]+)-tail" hx-swap-oob="beforeend">(.*)</div>', re.DOTALL)
_STEP: Final = re.compile(r" &gt; ([a-z][a-z0-9]*):last-child")
FREEZE: Final = re.compile(
    r'<div id="([\w-]+)-blocks" hx-swap-oob="beforeend" data-su-freeze="(\d+)"( data-su-whole)?>')
_TOP: Final = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>")
MARK: Final = re.compile(
    r'<span class="streamui-mark" id="([\w-]+)" data-status="([\w-]*)" title="' + _TEXT
    + r'" hx-swap-oob="outerHTML">' + _TEXT + r"</span>")
_TAIL_PATH: Final = re.compile(r"#([\w-]+)-tail((?: > [a-z][a-z0-9]*:last-child)*)")
_TAIL_STEP: Final = re.compile(r" > ([a-z][a-z0-9]*):last-child")
_VOID: Final = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                          "track", "wbr"})


def markup_append(piece: str, max_bytes: int) -> tuple[str, str] | None:
    """(`OUT tag tag`, the markup) of an append into the open tail (trusted renderer HTML)."""
    m = _MARKUP_PATH.fullmatch(piece)
    if m is not None:
        path, inner = " ".join([m.group(1), *_STEP.findall(m.group(2))]), m.group(3)
    else:
        m = _MARKUP_ROOT.fullmatch(piece)
        if m is None:
            return None
        path, inner = m.group(1), m.group(2)
    if not inner or len(inner.encode("utf-8")) * 2 > max_bytes:
        return None
    return path, inner


def text_append(piece: str, max_bytes: int) -> tuple[str, str] | None:
    """(the target selector, the text) of an append of escaped text alone, as a text node takes it."""
    m = _APPEND_PATH.fullmatch(piece)
    if m is not None:
        target = html.unescape(m.group(1))
    else:
        m = _APPEND_ROOT.fullmatch(piece)
        if m is None:
            return None
        target = "#" + m.group(1)
    text = html.unescape(m.group(2))
    if not text or len(text.encode("utf-8")) * 2 > max_bytes:
        return None
    return target, text


def short_path(target: str) -> str | None:
    """`#OUT-tail > tag:last-child > ...` as `OUT tag ...` (the `q` form), None for another selector."""
    path = _TAIL_PATH.fullmatch(target)
    return None if path is None else " ".join([path.group(1), *_TAIL_STEP.findall(path.group(2))])


def pieces(markup: str) -> list[str]:
    """`markup` (our own fragments) cut before each of its top-level elements."""
    if markup.count("<", 1) == 1 and markup.startswith("</", markup.rfind("<")):
        return [markup]  # one element holding text alone, like most frames' one append: nothing to cut
    starts: list[int] = []
    depth = 0
    for m in _TOP.finditer(markup):
        if m.group(1):
            depth = max(0, depth - 1)
            continue
        if depth == 0:
            starts.append(m.start())
        if not (m.group(2).lower() in _VOID or m.group(3)):
            depth += 1
    if not starts or starts[0] != 0:
        return [markup]
    return [markup[a:b] for a, b in zip(starts, [*starts[1:], len(markup)], strict=True)]


__all__ = ["FREEZE", "MARK", "REPLACE_TAIL", "markup_append", "pieces", "short_path", "text_append"]
