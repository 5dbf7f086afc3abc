"""The markdown-it configuration every model text goes through, and its core rules.

CommonMark + tables + ~~strike~~, raw HTML off; setext headings and link reference
definitions off (they change earlier text after the fact); tables must start with "|";
lists always loose; links only to safe URLs, with rel="nofollow noopener noreferrer";
correction marks carried as private-use characters and rendered by `_render_mark`.
`_tail_cut` is the hook through which `MarkdownStream` holds back the unresolved end of
the open paragraph (`markdown_inline_cut.InlineAnalyser`). The env keys the stream's
parse caches talk through are named here, where every rule can see them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Final

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_block import StateBlock, table
from markdown_it.rules_core import StateCore
from markdown_it.rules_core import normalize as core_normalize
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

if TYPE_CHECKING:
    from .markdown_inline_cut import InlineAnalyser

SAFE_SCHEMES: Final = frozenset({"http", "https", "mailto"})
_SCHEME: Final = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_URL_JUNK: Final = re.compile(r"[\x00-\x20\x7f]")

_MARK_BASE: Final = 0xF0000
_MARK_LAST: Final = 0xFFFFD
_MARK_CHARS: Final = re.compile("[\U000f0000-\U000ffffd]")
_NO_MARKS: Final = "streamui_no_marks"  # env: the source is known to hold no mark


def safe_url(url: str) -> bool:
    """Only http, https, mailto and scheme-less (relative) URLs; anything else with a
    colon before its first "/", "?" or "#" is refused, however it is disguised."""
    cleaned = _URL_JUNK.sub("", html.unescape(url))
    scheme = _SCHEME.match(cleaned)
    if scheme:
        return scheme.group(1).lower() in SAFE_SCHEMES
    head = re.split(r"[/?#]", cleaned, maxsplit=1)[0]
    return ":" not in head and "%3a" not in head.lower()


def build_markdown(*, allow_images: bool = False) -> MarkdownIt:
    """The renderer every model text goes through (CommonMark + tables + ~~strike~~)."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable(["lheading", "reference"])
    if not allow_images:
        md.disable("image")
    # Pure functions of the URL, called for every link on every re-parse of the tail.
    md.validateLink = lru_cache(maxsize=512)(safe_url)  # type: ignore[method-assign]
    md.normalizeLink = lru_cache(maxsize=512)(md.normalizeLink)  # type: ignore[method-assign]
    md.normalizeLinkText = lru_cache(maxsize=512)(md.normalizeLinkText)  # type: ignore[method-assign]
    md.block.ruler.at("table", _table_with_leading_pipe, {"alt": ["paragraph", "reference"]})
    md.core.ruler.after("block", "streamui_loose_lists", _loose_lists)
    md.core.ruler.after("streamui_loose_lists", "streamui_tail_cut", _tail_cut)
    md.core.ruler.push("streamui_marks_and_links", _marks_and_links)
    md.core.ruler.at("normalize", _normalize)
    md.add_render_rule("streamui_mark", _render_mark)
    return md


def _normalize(state: StateCore) -> None:
    """The core rule "normalize" (line endings to "\n", NUL to U+FFFD), without
    rewriting a source that has neither."""
    if "\r" in state.src or "\0" in state.src:
        core_normalize(state)


def _table_with_leading_pipe(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """Tables must start their header row with "|": a line shown as paragraph text
    before its first "|" arrived can then never turn into a table header."""
    start = state.bMarks[start_line] + state.tShift[start_line]
    if state.src[start : start + 1] != "|":
        return False
    return bool(table(state, start_line, end_line, silent))


def _loose_lists(state: StateCore) -> None:
    for token in state.tokens:
        if token.type in ("paragraph_open", "paragraph_close"):
            token.hidden = False


def _marks_and_links(state: StateCore) -> None:
    if state.env.get(_NO_MARKS) or not _MARK_CHARS.search(state.src):
        # No marks anywhere (tokens only carry text from the source): only links to
        # mark, and block tokens are never links.
        for token in state.tokens:
            for child in token.children or ():
                if child.type == "link_open":
                    child.attrSet("rel", "nofollow noopener noreferrer")
        return
    for token in state.tokens:
        _strip_marks(token)
        if token.children:
            token.children = _split_marks(token.children)


def _strip_marks(token: Token) -> None:
    if token.type != "text" and _MARK_CHARS.search(token.content):
        token.content = _MARK_CHARS.sub("", token.content)
    for name, value in list(token.attrs.items()):
        if isinstance(value, str) and _MARK_CHARS.search(value):
            token.attrs[name] = _MARK_CHARS.sub("", value)
    if token.type == "link_open":
        token.attrSet("rel", "nofollow noopener noreferrer")


def _split_marks(children: list[Token]) -> list[Token]:
    out: list[Token] = []
    for child in children:
        _strip_marks(child)
        if child.type != "text" or not _MARK_CHARS.search(child.content):
            out.append(child)
            continue
        pos = 0
        for m in _MARK_CHARS.finditer(child.content):
            if m.start() > pos:
                out.append(_text_token(child, child.content[pos : m.start()]))
            mark = Token("streamui_mark", "", 0)
            mark.meta = {"index": ord(m.group()) - _MARK_BASE}
            out.append(mark)
            pos = m.end()
        if pos < len(child.content):
            out.append(_text_token(child, child.content[pos:]))
    return out


def _text_token(like: Token, content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    token.level = like.level
    return token


def _render_mark(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    marks: list[str] = env.get("streamui_marks", [])
    index = tokens[idx].meta.get("index", -1)
    return marks[index] if 0 <= index < len(marks) else ""


# Keys of the env of one `MarkdownStream` parse (see `markdown_reuse`).
_INLINE_KEY: Final = "streamui_inline"
_INLINE_NEXT: Final = "streamui_inline_next"
_BLOCKS: Final = "streamui_blocks"
_PARSED: Final = "streamui_parsed"
_LEAF: Final = "streamui_leaf"
_WHOLE: Final = "streamui_whole"  # index of the open paragraph's inline token when nothing of it is held


# --- holding back the unresolved inline tail (rule 5 of `markdown`) -----------------


def _tail_cut(state: StateCore) -> None:
    """Cut the open paragraph's inline source at the first unresolved construct."""
    analyse: InlineAnalyser | None = state.env.get("streamui_cut")
    if analyse is None:
        return
    src = state.src
    total_lines = src.count("\n") + (0 if src.endswith("\n") or not src else 1)
    for i in range(len(state.tokens) - 1, -1, -1):
        token = state.tokens[i]
        if token.type != "inline":
            continue
        parent = state.tokens[i - 1]
        reaches_end = token.map is not None and token.map[1] >= total_lines
        open_block = parent.type == "paragraph_open" or (
            parent.type == "heading_open" and not src.endswith("\n")
        )
        if reaches_end and open_block:
            # A complete last line is followed by a newline, whatever comes next.
            cut = analyse(token.content, line_ends=src.endswith("\n"))
            if cut == len(token.content):
                state.env[_WHOLE] = i  # for `MarkdownStream._plain_append`
                if analyse.parsed is not None and _INLINE_KEY in state.env:
                    state.env[_PARSED] = analyse.parsed  # for `_cached_inline`
            analyse.parsed = None
            if cut < len(token.content):
                token.content = token.content[:cut]
                if not token.content.strip() and parent.type == "paragraph_open":
                    parent.hidden = state.tokens[i + 1].hidden = True
        return

