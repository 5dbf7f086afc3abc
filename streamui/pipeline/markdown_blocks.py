"""Block tokens of the complete lines, re-parsing only the last item when a list grew.

The settle checks need the block tokens of the tail's complete lines after every newline
(`BlockSettler.context`). The open block is kept in the tail until it closes, and in an
answer that block is usually a list, so parsing the complete lines whole made every newline
cost the whole list again: quadratic in its length.

A newline can only change the last item of a list that ends the complete lines. The items
before it are closed (the line starting the last item ended them), and nothing later in
CommonMark reaches back into a closed block. So when the complete lines grew from a source
whose block tokens end in a top-level list, only the lines from that list's last item on are
parsed (from their own offset: a parse's set-up scans every character of its source), and
their tokens replace the last item's.

The earlier items' tokens are shared with the last complete lines' tokens, so whatever renders
them takes copies (`lend`): the render's core rules change tokens as they go.

One thing of the earlier items does depend on later lines: a list is tight (its paragraphs
`hidden`) only if no item anywhere is loose. Looseness only grows as lines are added, so the
list is tight iff it was and the re-parsed part is; when that cannot be read off (no
paragraph at the list's top yet), the whole source is parsed instead.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

from markdown_it import MarkdownIt
from markdown_it.token import Token

_LIST_OPEN: Final = frozenset({"bullet_list_open", "ordered_list_open"})
_PARAGRAPH: Final = frozenset({"paragraph_open", "paragraph_close"})


@dataclass(slots=True)
class Blocks:
    """Block tokens of `src`, and whether the top-level list they end in is tight (None: no
    such list, or none of its items has a paragraph yet that would show it)."""

    src: str
    tokens: list[Token]
    tight: bool | None


def lend(tokens: list[Token]) -> list[Token]:
    """Copies of `tokens` for a render to change as it renders: the core rules strip mark characters
    off `content`, replace `children` and set `hidden` and `meta`, and a later splice shares these
    tokens with the next complete lines' (a copy is ~0.4 µs a token, a parse tens of µs a line)."""
    out = []
    new = object.__new__
    for token in tokens:
        copy: Token = new(Token)
        copy.type, copy.tag, copy.nesting, copy.map, copy.level = token.type, token.tag, token.nesting, token.map, \
            token.level
        copy.attrs = dict(token.attrs) if token.attrs else {}
        copy.children, copy.content, copy.markup, copy.info = token.children, token.content, token.markup, token.info
        copy.meta = dict(token.meta) if token.meta else {}
        copy.block, copy.hidden = token.block, token.hidden
        out.append(copy)
    return out


def parse_blocks(md: MarkdownIt, src: str) -> list[Token]:
    """Block tokens only: structure decisions never need the inline parse."""
    tokens: list[Token] = []
    md.block.parse(src, md, {}, tokens)
    return tokens


def blocks_of(md: MarkdownIt, src: str, previous: Blocks | None) -> Blocks:
    """The block tokens of `src`, from `previous` when `src` only added lines to its source."""
    grown = grown_list(md, src, previous) if previous is not None else None
    if grown is not None:
        return grown
    tokens = parse_blocks(md, src)
    return Blocks(src, tokens, _tightness(tokens, _last_list(tokens)))


def _last_list(tokens: list[Token]) -> int | None:
    """The index of the open token of the top-level list the tokens end in, if they do."""
    if not tokens or tokens[-1].level != 0 or tokens[-1].nesting != -1 or not tokens[-1].type.endswith("_list_close"):
        return None
    for i in range(len(tokens) - 2, -1, -1):
        if tokens[i].level == 0:
            return i if tokens[i].type in _LIST_OPEN else None
    return None


def _tightness(tokens: list[Token], start: int | None, end: int | None = None) -> bool | None:
    """Tight or not, as the list opened at `start` marks its items' own paragraphs."""
    if start is None:
        return None
    for token in tokens[start:end]:
        if token.level == 2 and token.type == "paragraph_open":
            return token.hidden
    return None


def grown_list(md: MarkdownIt, src: str, previous: Blocks) -> Blocks | None:
    """The block tokens of `src`, which adds to the complete lines of `previous` (an open line
    too, maybe), when `previous` ends in a list: only its last item on is parsed. None otherwise.
    The tokens before that item are `previous`'s own objects, shared."""
    if not previous.src.endswith("\n") or not src.startswith(previous.src):
        return None
    tokens = previous.tokens
    start = _last_list(tokens)
    if start is None:
        return None
    item = next((i for i in range(len(tokens) - 2, start, -1)
                 if tokens[i].level == 1 and tokens[i].type == "list_item_open"), None)
    if item is None or not tokens[item].map:
        return None
    first_line = tokens[item].map[0]  # type: ignore[index]
    offset = line_offset(src, first_line)
    part = parse_blocks(md, src[offset:])
    opener = tokens[start]
    if (not part or part[0].type != opener.type or part[0].markup != opener.markup or part[0].level != 0
            or not part[0].map or part[0].map[0] != 0):
        return None  # the last item's lines no longer start an item of that list: parse it all
    close = next(i for i in range(1, len(part)) if part[i].level == 0)  # the part's list close
    for token in part:
        if token.map:
            token.map = [token.map[0] + first_line, token.map[1] + first_line]
    # The list is tight iff it was (`previous.tight`, which also knows the last item as it was) and
    # the re-parsed part is; it cannot be told when the earlier items showed nothing (no paragraph)
    # and the part has paragraphs it would mark. Setting `hidden` below also changes `previous`'s
    # tokens, which share them; no later step depends on a context's `hidden` (this function reads
    # `tight`, the settle checks ignore it, the render makes every list loose: `_loose_lists`).
    after = _tightness(part, 0, close)
    if item == start + 1:
        tight = after  # the last item is the first: the part is the whole list
    elif after is None:
        tight = previous.tight
    elif previous.tight is None:
        return None
    else:
        tight = previous.tight and after
    if tight is not None:
        for token in (*tokens[start + 1 : item], *part[1:close]):
            if token.level == 2 and token.type in _PARAGRAPH:
                token.hidden = tight
    # The list's open token is the one thing before the last item that changes: where it ends.
    listed = dataclasses.replace(opener, attrs=dict(opener.attrs), map=[opener.map[0], part[0].map[1]])  # type: ignore[index]
    return Blocks(src, [*tokens[:start], listed, *tokens[start + 1 : item], *part[1:]], tight)


def line_offset(src: str, line: int) -> int:
    pos = 0
    for _ in range(line):
        nl = src.find("\n", pos)
        if nl < 0:
            return len(src)
        pos = nl + 1
    return pos


__all__ = ["Blocks", "blocks_of", "grown_list", "lend", "line_offset", "parse_blocks"]
