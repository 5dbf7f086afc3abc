"""The shortcut of `MarkdownStream` for plain text: the open leaf's HTML grows, nothing is parsed.

Most reveals are a word of plain text on the open line of a paragraph. When the last update
left one open leaf that the next full update would reuse (`markdown_reuse._reusable_leaf`)
and that nothing can change but more text, the new HTML is the old with the escaped text
added inside the leaf:

- a paragraph none of which is held (its cut analysis kept all of it), growing by text with
  no newline, mark or character an inline rule starts on or looks back from (`PLAIN_TEXT`);
  its source had no unresolved construct (no delimiter run, backslash, bracket, "<" or "&"
  open or at its end) and the text starts none, so its inline parse is the old one's
  followed by that text, trimmed as `paragraph` trims, which renders escaped;
- the body of a top-level fence, growing by any text with no newline or mark (`CODE_TEXT`):
  the fence renders its content escaped (no highlighter, checked on its HTML).

tests/pipeline/test_markdown_plain_appends.py compares every update with the full path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from markdown_it.common.utils import MD_TRIM_CHARS, escapeHtml

PLAIN_TEXT: Final = re.compile(r"[^\n\r\x00*_~`\\\[\]!<&\U000f0000-\U000ffffd]+")
CODE_TEXT: Final = re.compile(r"[^\n\r\x00\U000f0000-\U000ffffd]+")
_CODE_END: Final = "</code></pre>"


@dataclass(slots=True)
class PlainTail:
    """The open leaf as the last update left it: the tail HTML around the leaf's growing part
    (a paragraph's inline HTML, a fence's escaped code), and the leaf's source (`content`,
    and for a paragraph the whitespace trimmed off its end; `trail` None for a fence)."""

    src: str
    head: str
    inline_html: str
    after: str
    content: str
    trail: str | None

    @property
    def html(self) -> str:
        return self.head + self.inline_html + self.after


def plain_tail(
    src: str, kind: str, content: str, trail: str | None, whole: bool, head: str, html: str, after: str
) -> PlainTail | None:
    """The shortcut's state for an open leaf (`kind`: its token type, `html` its token's HTML
    between `head` and `after`), or None if the shortcut cannot extend it: a paragraph
    something of which is held (not `whole`), or a fence whose HTML is not its escaped code."""
    if trail is not None:
        return PlainTail(src, head, html, after, content, trail) if whole else None
    code = escapeHtml(content)
    end = html.rfind(_CODE_END)
    if kind != "fence" or end < 0 or not html[:end].endswith(code):
        return None
    return PlainTail(src, head + html[: end - len(code)], code, html[end:] + after, content, None)


def extend(plain: PlainTail, src: str) -> bool:
    """Grow `plain` to the source `src` if that only adds text the shortcut may take."""
    grown = src[len(plain.src) :]
    if not src.startswith(plain.src):
        return False
    if plain.trail is None:  # a fence body: the line as it is, escaped
        if not CODE_TEXT.fullmatch(grown):
            return False
        plain.content += grown
        plain.inline_html += escapeHtml(grown)
    else:
        if not PLAIN_TEXT.fullmatch(grown):
            return False
        untrimmed = plain.content + plain.trail + grown
        content = untrimmed.rstrip(MD_TRIM_CHARS)
        plain.inline_html += escapeHtml(content[len(plain.content) :])
        plain.content, plain.trail = content, untrimmed[len(content) :]
    plain.src = src
    return True


__all__ = ["CODE_TEXT", "PLAIN_TEXT", "PlainTail", "extend", "plain_tail"]
