"""Streaming markdown: frozen blocks rendered once, an open tail that never flickers.

`MarkdownStream.append(text)` takes revealed answer text and returns DOM updates:
`FrozenBlock(index, html)` (append once after the previous frozen block; it never
changes again) and `TailBlock(html)` (replace the open tail). After `finish()`
everything is frozen and the tail is empty.

Safety. markdown-it-py with raw HTML disabled escapes all model text; links and
autolinks are only made for http, https, mailto and relative URLs (`safe_url`);
images are off unless `allow_images=True` (a model-chosen image URL loads without a
click, which is how prompt-injected answers exfiltrate data). Links get
`rel="nofollow noopener noreferrer"`.

Freezing. The tail is re-parsed as a whole; every top-level block followed by
another top-level block is final and is frozen (rendered from the same parse, so it
looks exactly as it did in context), and its source leaves the tail. A list or an
indented code block therefore stays open across blank lines, a fence until it is
closed or another block follows, a table until the block after it starts.

No flicker. A successive tail render only ever extends the previous one: text that
was shown is never removed or moved into a different element. The rules:

1. Constructs that change earlier text after the fact are switched off: setext
   headings (a "---" under a line would turn the paragraph into a heading) and
   link reference definitions (a later "[a]: url" would turn earlier "[a]" into
   links). Lists always wrap items in paragraphs ("loose"), so a blank line between
   items never re-renders the list; style `li > p` to taste.
2. The open (unfinished) last line is shown only once its block role is settled.
   A line starting with a block marker ("-", "*", "+", "#", ">", "`", "~", "_", a
   digit) is probed with a few continuations ("a", " a", ". a", "-", "`", ...);
   while any of them would give a different block structure, the line is held
   back ("-" could become a list item, a rule or text; "1" a list; "```py" a
   fence with another language). Lines starting with other characters are
   paragraph text and are shown at once.
3. Inside an open code fence every line shows as it streams, except a line that
   could still be the closing fence ("`", "``", "```"), which waits for its
   newline.
4. Tables: a line containing "|" is held until the line after it shows it is not a
   table header (the delimiter row is incomplete or impossible); inside a table the
   open row is held until its newline. So a table appears with its header row and
   grows a row at a time.
5. Inline, in the open block only: text from the first unresolved construct on is
   held back, where unresolved means more text could still change how it renders:
   an emphasis or strikethrough delimiter that could still open a span and is not
   closed; a delimiter run at the very end (the next character decides whether it
   opens); an unmatched code-span backtick run; a `[` or `![` that more text could
   still turn into a link or image (`[text](ur` is held whole, `[1] see` is not); a
   `<` that could become an autolink; a `&` that could become an entity; a trailing
   backslash. If a matched pair encloses the cut, the cut moves to its opener, and
   a delimiter run right before the cut is held too (its flanking depends on the
   character after it). When the block ends, whatever was held is rendered as
   markdown-it renders it (unclosed emphasis stays literal text).

Cost. What keeps the work per append from growing with the tail is told in
`markdown_render`, with the parse and render it describes.

Marks. `append_mark(Struck | Revision)` places a correction mark (see
`pipeline.commit`) at the current end: struck text renders as
`<del class="streamui-struck">`, a revision as a "revised" button followed by the
hidden original (`<del class="streamui-revised-original" hidden>`), which the
widget reveals on demand. Marks travel through the source as private-use
characters (U+F0000 + index), so they sit where they belong in whatever block
structure forms around them; model text cannot forge them, since `append` removes
that range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .markdown_blocks import line_offset as _line_offset
from .markdown_inline_cut import InlineAnalyser
from .markdown_parser import (
    _INLINE_KEY,
    _INLINE_NEXT,
    _LEAF,
    _MARK_BASE,
    _MARK_CHARS,
    _MARK_LAST,
    _NO_MARKS,
    _WHOLE,
    SAFE_SCHEMES,
    build_markdown,
    safe_url,
)
from .markdown_plain import PlainTail, extend, plain_tail
from .markdown_render import Mark, Reuse, mark_html, parse, render, render_tokens, top_level_blocks
from .markdown_reuse import _stream_parsers
from .markdown_settle import BlockSettler

# --- the DOM updates --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FrozenBlock:
    """Append after the previous frozen block; never changes again."""

    index: int
    html: str


@dataclass(frozen=True, slots=True)
class TailBlock:
    """Replace the open tail (after the frozen blocks) with this HTML."""

    html: str


BlockUpdate = FrozenBlock | TailBlock


class MarkdownStream:
    """Render answer text as it streams; see the module docstring for the rules."""

    plain_appends: ClassVar[bool] = True
    """Take the `_plain_append` shortcut (off only to check it against the full path)."""

    def __init__(self, *, allow_images: bool = False) -> None:
        self._md, self._analyse = _stream_parsers(allow_images)
        self._shown: str | None = None  # the source of the last update, if it froze nothing
        self._reuse: Reuse | None = None  # what the next update may reuse of the last
        self._inline_html: dict[str, str] = {}  # inline source -> its HTML, from the last update
        self._tail = ""
        self._tail_html = ""
        self._frozen = 0
        self._marks: list[str] = []
        self._pending_cr = False
        self._plain: PlainTail | None = None  # the open paragraph, when plain text may extend it
        self._settle = BlockSettler(self._md)
        self._finished = False

    @property
    def frozen_count(self) -> int:
        return self._frozen

    def append(self, text: str) -> list[BlockUpdate]:
        """Revealed answer text; returns the updates to apply, in order."""
        if self._finished:
            raise RuntimeError("append() after finish()")
        text = _MARK_CHARS.sub("", text)
        if self._pending_cr:
            text = "\r" + text
        self._pending_cr = text.endswith("\r")
        if self._pending_cr:
            text = text[:-1]
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text:
            return []
        self._tail += text
        return self._update(final=False)

    def append_mark(self, mark: Mark) -> list[BlockUpdate]:
        """Place a correction mark at the current end of the text."""
        if self._finished:
            raise RuntimeError("append_mark() after finish()")
        index = len(self._marks)
        if _MARK_BASE + index > _MARK_LAST:
            return []
        self._marks.append(mark_html(self._md, mark))
        self._tail += chr(_MARK_BASE + index)
        return self._update(final=False)

    def retract(self, text: str) -> bool:
        """Take `text` back off the end of the source, when the open tail still ends with it (a
        stopped answer's bare list marker, `markdown_close`): the next render, and what freezes,
        is the source without it. Nothing is sent for it; True when it was taken back."""
        if self._finished or not text:
            return False
        text = _MARK_CHARS.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
        if self._pending_cr:
            text = text.removesuffix("\n")  # a "\r" still waiting to become one
            self._pending_cr = False
        if not text or not self._tail.endswith(text):
            return False
        self._tail = self._tail[: len(self._tail) - len(text)]
        # The caches assume a source that only grows: start them again from this one.
        self._shown, self._reuse, self._plain = None, None, None
        self._settle = BlockSettler(self._md)
        return True

    def finish(self) -> list[BlockUpdate]:
        """The text is complete: freeze everything; the tail ends up empty."""
        if self._finished:
            return []
        if self._pending_cr:
            self._tail += "\n"
            self._pending_cr = False
        self._finished = True
        return self._update(final=True)

    # --- the update ----------------------------------------------------------------

    def _update(self, *, final: bool) -> list[BlockUpdate]:
        shown = self._tail if final else self._settle.settled(self._tail)
        if not final and shown == self._shown:
            return []  # the same source as last time, which froze nothing: the same render
        if not final and self._plain is not None:
            plain_updates = self._plain_append(self._plain, shown)
            if plain_updates is not None:
                return plain_updates
        self._plain = None
        env: dict[str, Any] = {
            "streamui_marks": self._marks,
            _INLINE_KEY: self._inline_html,  # inline HTML from the last update
            _INLINE_NEXT: {},  # inline HTML this update uses
        }
        if not self._marks:
            env[_NO_MARKS] = True  # `append` removes mark characters; only `append_mark` adds them
        if not final:
            env["streamui_cut"] = self._analyse
        reuse, self._reuse = self._reuse, None
        tokens, rendered = parse(self._md, self._settle, reuse, shown, env, final=final)
        blocks = top_level_blocks(tokens)
        frozen, open_block = (blocks, []) if final else (blocks[:-1], blocks[-1:])
        updates: list[BlockUpdate] = []
        for block in frozen:
            updates.append(FrozenBlock(self._frozen, render(self._md, block, env)))
            self._frozen += 1
        if final:
            self._tail = ""
        elif frozen:
            start_line = open_block[0][0].map[0] if open_block and open_block[0][0].map else 0
            drop = _line_offset(shown, start_line) if open_block else len(shown)
            self._tail = self._tail[drop:]
            if self._settle.settled_line is not None:
                self._settle.settled_line -= drop
        split, prefix = rendered if rendered is not None and len(blocks) == 1 else (0, "")
        parts = render_tokens(self._md, open_block[0], env, split) if open_block else []
        tail_html = prefix + "".join(parts)
        if updates or tail_html != self._tail_html:
            updates.append(TailBlock(tail_html))
        self._tail_html = tail_html
        self._inline_html = env[_INLINE_NEXT]  # what this render used, for the next
        self._shown = None if final or frozen else shown
        leaf = env.get(_LEAF)
        if self._shown is not None and leaf is not None and len(blocks) == 1:
            index = leaf[0]
            # Tokens before the leaf's paragraph and the one before that (whose
            # rendering looks at it) render the same next time: keep their HTML.
            keep = max(index - 2, 0) if tokens[index].type == "inline" else index
            kept = (keep, prefix + "".join(parts[: keep - split])) if keep >= split else None
            self._reuse = (shown, tokens, *leaf, kept)
            if self.plain_appends and index >= split:
                at = index - split
                self._plain = plain_tail(shown, tokens[index].type, leaf[1], leaf[2], env.get(_WHOLE) == index,
                                         prefix + "".join(parts[:at]), parts[at], "".join(parts[at + 1 :]))
        return updates

    def _plain_append(self, plain: PlainTail, shown: str) -> list[BlockUpdate] | None:
        """The update for `shown` by the plain-text shortcut (`markdown_plain`), if it applies:
        the open leaf's HTML grows and nothing is parsed or rendered. The block tokens, leaf
        and inline cache are left as the full update would leave them, so the next full one
        reuses them the same way."""
        assert self._reuse is not None
        paragraph = plain.content
        if not extend(plain, shown):
            return None
        _previous, tokens, index, _content, _trail, kept = self._reuse
        self._reuse = (shown, tokens, index, plain.content, plain.trail, kept)
        if plain.trail is not None:
            inline_cache = dict(self._inline_html)
            inline_cache.pop(paragraph, None)
            inline_cache[plain.content] = plain.inline_html
            self._inline_html = inline_cache
        self._shown = shown
        tail_html = plain.html
        if tail_html == self._tail_html:
            return []
        self._tail_html = tail_html
        return [TailBlock(tail_html)]


__all__ = [
    "SAFE_SCHEMES",
    "BlockUpdate",
    "FrozenBlock",
    "InlineAnalyser",
    "Mark",
    "MarkdownStream",
    "TailBlock",
    "build_markdown",
    "safe_url",
]
