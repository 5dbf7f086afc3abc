"""The parse caches of `MarkdownStream`: core rules that skip work a previous update did.

- `_block_rule` takes the block tokens the stream prepared (the last update's, with the
  open leaf's content grown, or the complete lines' from the settle checks) instead of
  parsing the blocks again, and otherwise finds the leaf the next update may grow
  (`_reusable_leaf`).
- `_cached_inline` skips the inline parse of every inline token whose source was
  rendered in the previous update (its HTML is a function of its source alone).
`_stream_parsers` builds, once per thread, the parser with these rules and the cut analyser.
"""

from __future__ import annotations

import threading

from markdown_it import MarkdownIt
from markdown_it.common.utils import MD_TRIM_CHARS
from markdown_it.rules_core import StateCore
from markdown_it.rules_core import block as core_block
from markdown_it.rules_core import inline as core_inline
from markdown_it.token import Token

from .markdown_inline_cut import InlineAnalyser
from .markdown_parser import _BLOCKS, _INLINE_KEY, _INLINE_NEXT, _LEAF, _MARK_CHARS, _NO_MARKS, _PARSED, build_markdown
from .markdown_settle import _DECIDED_CONTENT

_PARSERS = threading.local()


def _stream_parsers(allow_images: bool) -> tuple[MarkdownIt, InlineAnalyser]:
    """The parser and the cut analyser every stream of this thread shares.

    Building them costs ~1.6 ms of CPU (three MarkdownIt instances, ~340 rules); every
    per-stream state lives in the MarkdownStream or in the env of one synchronous
    parse, so one pair per thread serves any number of streams."""
    cache: dict[bool, tuple[MarkdownIt, InlineAnalyser]] = _PARSERS.__dict__.setdefault("cache", {})
    found = cache.get(allow_images)
    if found is None:
        md = build_markdown(allow_images=allow_images)
        md.core.ruler.at("block", _block_rule)
        md.core.ruler.at("inline", _cached_inline)
        found = cache[allow_images] = (md, InlineAnalyser(allow_images=allow_images))
    return found



def _block_rule(state: StateCore) -> None:
    """The core "block" rule, or the block tokens `markdown_render.parse` prepared."""
    reused: list[Token] | None = state.env.pop(_BLOCKS, None)
    if reused is not None:
        state.tokens.extend(reused)
    else:
        core_block(state)
    # (A leaf `parse` already grew in the reused tokens is set; otherwise it is None: find it.)
    if _LEAF in state.env and state.env[_LEAF] is None:
        state.env[_LEAF] = _reusable_leaf(state.tokens, state.src, state.env.get(_NO_MARKS, False))


def _reusable_leaf(tokens: list[Token], src: str, no_marks: bool) -> tuple[int, str, str | None] | None:
    """The leaf holding the open last line of `src`, if more text on that line (no
    newline) could change nothing but that leaf's content: the line decides its block
    role (`_DECIDED_CONTENT`, so the structure stays), it holds no mark, and the leaf
    is a paragraph (content: its lines, trimmed) or the body of a top-level fence (its
    lines as they are; a decided line cannot close it)."""
    line = src[src.rfind("\n") + 1 :]
    if not _DECIDED_CONTENT.match(line) or not (no_marks or not _MARK_CHARS.search(src)):
        return None
    lines = src.count("\n") + 1
    for i in range(len(tokens) - 1, -1, -1):
        token = tokens[i]
        if token.nesting == -1:
            continue
        if not token.map or token.map[1] != lines:
            return None
        if token.type == "inline" and i and tokens[i - 1].type == "paragraph_open" and token.content:
            return i, token.content, src[len(src.rstrip(MD_TRIM_CHARS)) :]
        if token.type == "fence" and token.level == 0 and token.map[0] < lines - 1:
            return i, token.content, None
        return None
    return None


def _cached_inline(state: StateCore) -> None:
    """The core "inline" rule, skipping inline tokens whose HTML is already known.

    An inline token's HTML is a function of its source alone: the inline parse, the
    later core rules (text join, marks and links) and the inline render rules look at
    nothing else, and a mark's HTML never changes once placed. So the HTML rendered
    for a source in the previous update is reused (`markdown_render.render`), and only
    new sources (in practice the open paragraph, which grew) are parsed.
    """
    known: dict[str, str] | None = state.env.get(_INLINE_KEY)
    if known is None:
        core_inline(state)
        return
    used: dict[str, str] = state.env[_INLINE_NEXT]
    for token in state.tokens:
        if token.type == "inline":
            token.children = []  # (reused block tokens keep the last update's)
            token.meta[_INLINE_KEY] = token.content
            html = known.get(token.content)
            if html is not None:
                used[token.content] = html
                continue
            parsed = state.env.get(_PARSED)
            if parsed is not None and parsed[0] == token.content:
                token.children = parsed[1]  # the cut analysis parsed this very text
                del state.env[_PARSED]
                continue
            state.md.inline.parse(token.content, state.md, state.env, token.children)
