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

Cost. `append` runs per revealed word, so the work above is kept from growing with
the tail where that changes nothing (the output is exactly what re-parsing everything
gives; tests/pipeline/test_markdown_equivalence.py compares it with the original):

- Settle checks are cached per open line. The complete lines' block tokens are parsed
  once per newline. A line whose content decides its block role (`_DECIDED_CONTENT`:
  after its container markers, characters that rule out every construct that looks
  further along the line, like "- **Bold" or "2024 was") is settled without probing,
  for the rest of the line; probe results for a table header's or a pipe line's
  prefix are memoized; the fence check runs only when a fence reaches the end of the
  complete lines, and a line in the body of a top-level fence that cannot close it
  needs no parse.
- When only a decided open line grew (no newline), the last update's block tokens
  are reused with the one leaf holding that line (a paragraph, or a top-level fence
  body) given its new content, and the HTML of the tokens before it is kept. A source
  identical to the last update's gives no update without any work.
- Inline HTML is memoized by inline source, so only the open paragraph is parsed; the
  cut analysis's inline tokens serve the render when nothing is held back. Link
  normalization and validation are memoized by URL.

What stays linear in the open block is its inline cut analysis (the open paragraph is
parsed once per append) and the parse of the open block at each newline.

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

import html
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, cast

from markdown_it import MarkdownIt
from markdown_it.common.utils import MD_TRIM_CHARS
from markdown_it.renderer import RendererHTML
from markdown_it.rules_block import StateBlock, table
from markdown_it.rules_core import StateCore
from markdown_it.rules_core import block as core_block
from markdown_it.rules_core import inline as core_inline
from markdown_it.rules_core import normalize as core_normalize
from markdown_it.rules_inline import (
    StateInline,
    autolink,
    backtick,
    emphasis,
    entity,
    escape,
    image,
    link,
    strikethrough,
)
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from .corrections import Revision, Struck

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
Mark = Struck | Revision

# --- the parser ---------------------------------------------------------------------

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


# --- holding back the unresolved inline tail (rule 5) --------------------------------


def _tail_cut(state: StateCore) -> None:
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
            if cut == len(token.content) and analyse.parsed is not None and _INLINE_KEY in state.env:
                state.env[_PARSED] = analyse.parsed  # for `_cached_inline`
            analyse.parsed = None
            if cut < len(token.content):
                token.content = token.content[:cut]
                if not token.content.strip() and parent.type == "paragraph_open":
                    parent.hidden = state.tokens[i + 1].hidden = True
        return


_DELIMITER_CHARS: Final = "*_~\\"
_LINK_COMPLETIONS: Final = ("](x)", "(x)", ")", "))", '")', "')", ">)", "x)")
# What may follow a "<" that could still become an autolink (URL or e-mail address).
_AUTOLINK_PREFIX: Final = re.compile(
    r"[a-zA-Z][a-zA-Z0-9+.\-]{0,31}(?::[^<>\x00-\x20]*)?|[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~\-]*(?:@[a-zA-Z0-9.\-]*)?"
)
_ENTITY_PREFIX: Final = re.compile(r"&(?:#[xX]?[0-9a-fA-F]{0,7}|[A-Za-z][A-Za-z0-9]{0,31})?")


def _link_completions(rest: str) -> list[str]:
    """Endings that would make `rest` (starting at "[") a link, if anything can."""
    depth = rest.count("[") - rest.count("]")
    return [*_LINK_COMPLETIONS, *("]" * k + "(x)" for k in range(2, min(depth, 8) + 1))]


class InlineAnalyser:
    """Finds where the settled part of an open inline text ends (rule 5)."""

    def __init__(self, *, allow_images: bool = False) -> None:
        self._md = build_markdown(allow_images=allow_images)
        self._plain = build_markdown(allow_images=allow_images)
        ruler = self._md.inline.ruler
        ruler.at("emphasis", self._wrap_delimiters(emphasis.tokenize, "*_", per_char=True))
        ruler.at("strikethrough", self._wrap_delimiters(strikethrough.tokenize, "~", per_char=False))
        ruler.at("backticks", self._wrap_backticks)
        ruler.at("link", self._wrap_link(link, "["))
        if allow_images:
            ruler.at("image", self._wrap_link(image, "!["))
        ruler.at("autolink", self._wrap_autolink)
        ruler.at("entity", self._wrap_entity)
        ruler.at("escape", self._wrap_escape)
        self._md.inline.ruler2.push("streamui_collect", self._collect)
        self.parsed: tuple[str, list[Token]] | None = None  # the last text parsed, and its tokens

    def __call__(self, src: str, *, line_ends: bool = False) -> int:
        """Length of the prefix of `src` that renders the same whatever follows.

        `line_ends`: `src` is known to be followed by a line break (its last line is
        complete), which settles what cannot span lines (autolinks, entities).
        """
        env: dict[str, Any] = {"positions": {}, "starts": [], "pairs": [], "end": len(src)}
        # pairs: (start, end) of what was decided using the text up to `end`: matched
        # delimiters, complete links, and brackets that stayed literal.
        tokens = self._md.inline.parse(src + "\n" if line_ends else src, self._md, env, [])
        # The wrapped rules only observe: these are the tokens a plain inline parse of
        # the same text gives (`_tail_cut` hands them on when nothing is held back).
        self.parsed = None if line_ends else (src, tokens)
        starts: list[int] = env["starts"]
        pairs: list[tuple[int, int]] = env["pairs"]
        cut = min([len(src), *starts])
        while True:
            before = cut
            for opener, closer in pairs:
                if opener < cut <= closer:
                    cut = opener
            while cut > 0 and src[cut - 1] in _DELIMITER_CHARS:
                cut -= 1
            if cut == before:
                return cut

    @staticmethod
    def _wrap_delimiters(
        rule: Callable[[StateInline, bool], bool], markers: str, *, per_char: bool
    ) -> Callable[[StateInline, bool], bool]:
        def wrapped(state: StateInline, silent: bool) -> bool:
            start, before = state.pos, len(state.delimiters)
            ok = rule(state, silent)
            if silent or state.level or state.src[start] not in markers:
                return ok
            run_end = start
            while run_end < len(state.src) and state.src[run_end] == state.src[start]:
                run_end += 1
            if run_end == len(state.src):
                state.env["starts"].append(start)  # the next character decides the flanking
            for k, delim in enumerate(state.delimiters[before:]):
                state.env["positions"][id(delim)] = start + k if per_char else start
            return ok

        return wrapped

    def _collect(self, state: StateInline) -> None:
        positions: dict[int, int] = state.env["positions"]
        delims = state.delimiters
        for delim in delims:
            pos = positions.get(id(delim))
            if pos is None:
                continue
            if delim.end >= 0:
                closer = positions.get(id(delims[delim.end]))
                if closer is not None:
                    state.env["pairs"].append((pos, closer))
            elif delim.open:
                state.env["starts"].append(pos)

    @staticmethod
    def _wrap_backticks(state: StateInline, silent: bool) -> bool:
        # At any level: a code span binds tighter than link brackets, so an open one
        # inside link text could still swallow the link's "]".
        start, tokens = state.pos, len(state.tokens)
        ok = backtick(state, silent)
        if ok and not silent:
            made_span = any(t.type == "code_inline" for t in state.tokens[tokens:])
            # Unmatched, or closed by a run at the very end that one more backtick
            # would lengthen into a non-closer.
            if not made_span or state.pos == len(state.src):
                state.env["starts"].append(start)
        return ok

    def _wrap_link(
        self, rule: Callable[[StateInline, bool], bool], marker: str
    ) -> Callable[[StateInline, bool], bool]:
        def wrapped(state: StateInline, silent: bool) -> bool:
            start = state.pos
            ok = rule(state, silent)
            if silent or state.level or not state.src.startswith(marker, start):
                return ok
            if ok:
                state.env["pairs"].append((start, state.pos - 1))
                return ok
            rest = state.src[start:]
            if rest.endswith("\\"):
                rest += " "  # a trailing backslash would escape the completion's bracket
            if any(self._starts_with_link(rest + c) for c in _link_completions(rest)):
                state.env["starts"].append(start)
            else:
                label_end = state.md.helpers.parseLinkLabel(state, start + len(marker) - 1, marker == "[")
                decided_by = label_end + 1 if label_end >= 0 else len(state.src)
                if decided_by < len(state.src) and state.src[decided_by] == "(":
                    decided_by = len(state.src)
                state.env["pairs"].append((start, decided_by))
            return ok

        return wrapped

    def _starts_with_link(self, text: str) -> bool:
        children = self._plain.parseInline(text)[0].children or []
        return bool(children) and children[0].type in ("link_open", "image")

    @staticmethod
    def _wrap_autolink(state: StateInline, silent: bool) -> bool:
        start = state.pos
        ok = autolink(state, silent)
        if (not ok and not silent and state.src[start] == "<"
                and _AUTOLINK_PREFIX.fullmatch(state.src, start + 1)):
            state.env["starts"].append(start)
        return ok

    @staticmethod
    def _wrap_entity(state: StateInline, silent: bool) -> bool:
        start = state.pos
        ok = entity(state, silent)
        if not ok and not silent and not state.level and state.src[start] == "&":
            m = _ENTITY_PREFIX.match(state.src, start)
            if m and m.end() == len(state.src):
                state.env["starts"].append(start)
        return ok

    @staticmethod
    def _wrap_escape(state: StateInline, silent: bool) -> bool:
        start = state.pos
        ok = escape(state, silent)
        if not silent and not state.level and start == state.env["end"] - 1 and state.src[start] == "\\":
            state.env["starts"].append(start)  # escapes, or breaks the line, by what comes next
        return ok


# --- holding back unsettled lines (rules 2-4) ----------------------------------------

_MARKER_START: Final = re.compile(r"[ \t]*[-*+#>`~_0-9]")
_PIPE_LINE: Final = re.compile(r"[ \t]*(?:>[ \t]?)*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?[ \t]*\|")
_PROBES: Final = (
    "a", " a", ". a", ") a", "-", "--", " -", "*", "**", " *", "_", "__", "`", "``", "~", "~~", "#", " #", ">"
)
_DELIMITER_ROW_PREFIX: Final = re.compile(r"[ \t>]*[|:\- \t]*")
_SETTLED_CONTENT: Final = re.compile(r"[ \t]*(?:[-*+>#]+[ \t]+|\d{1,9}[.)][ \t]+)*[^-*+>#`~_0-9 \t|]")
# Content that decides the open line's block role whatever follows on the line: after
# container markers (list markers, ">", "#"s), a first character that starts no block
# construct, or first characters that rule out every construct that looks at more of
# the line (a thematic break, a fence opener or closer, a table delimiter row, an empty
# list item, a list marker, an ATX heading): a run of one marker character followed by
# a different non-space character ("**Bold", "-x", "#x", "__init__"), digits followed
# by anything but a digit, "." or ")" ("2024 was"), or by "." or ")" and no space or
# tab ("1.5"), one or two backticks or tildes and then something else. Such a line's
# probes cannot differ from it, and nothing more on the line can change the structure.
_DECIDED_CONTENT: Final = re.compile(
    r"[ \t]*(?:(?:[-*+#]+|[0-9]{1,9}[.)])[ \t]+|>[ \t]?)*"
    r"(?:[^-*+>#`~_0-9\s|:]|-+[^-\s|:]|\*+[^*\s]|\++[^+\s]|_+[^_\s]|#+[^#\s]"
    r"|[0-9]+[^0-9.)]|[0-9]+[.)][^ \t]|`{1,2}[^`]|~{1,2}[^~])"
)


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


class MarkdownStream:
    """Render answer text as it streams; see the module docstring for the rules."""

    def __init__(self, *, allow_images: bool = False) -> None:
        self._md, self._analyse = _stream_parsers(allow_images)
        self._shown: str | None = None  # the source of the last update, if it froze nothing
        # (source, its block tokens, index of the open leaf, the leaf's content, and for
        # a paragraph the whitespace trimmed off its end) when the next update may reuse them
        self._reuse: tuple[str, list[Token], int, str, str | None, tuple[int, str] | None] | None = None
        self._inline_html: dict[str, str] = {}  # inline source -> its HTML, from the last update
        self._tail = ""
        self._tail_html = ""
        self._frozen = 0
        self._marks: list[str] = []
        self._pending_cr = False
        self._settled_line: int | None = None  # tail offset of an open line known to be settled
        self._context_src = ""
        self._context_tokens: list[Token] = []
        self._context_prev: tuple[str, list[Token]] = ("", [])
        self._context_fresh = False
        self._complete = ""  # the complete lines the caches below are about
        self._open_fences: list[Token] = []  # fences in the context that reach its end
        self._in_table = False  # the last complete line is inside a table
        self._line_memo: dict[tuple[str, str], bool] = {}  # _line_settled results
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
        self._marks.append(self._mark_html(mark))
        self._tail += chr(_MARK_BASE + index)
        return self._update(final=False)

    def finish(self) -> list[BlockUpdate]:
        """The text is complete: freeze everything; the tail ends up empty."""
        if self._finished:
            return []
        if self._pending_cr:
            self._tail += "\n"
            self._pending_cr = False
        self._finished = True
        return self._update(final=True)

    # --- rendering -----------------------------------------------------------------

    def _update(self, *, final: bool) -> list[BlockUpdate]:
        shown = self._tail if final else self._settled(self._tail)
        if not final and shown == self._shown:
            return []  # the same source as last time, which froze nothing: the same render
        env: dict[str, Any] = {
            "streamui_marks": self._marks,
            _INLINE_KEY: self._inline_html,  # inline HTML from the last update
            _INLINE_NEXT: {},  # inline HTML this update uses
        }
        if not self._marks:
            env[_NO_MARKS] = True  # `append` removes mark characters; only `append_mark` adds them
        if not final:
            env["streamui_cut"] = self._analyse
        tokens, rendered = self._parse(shown, env, final=final)
        blocks = _top_level_blocks(tokens)
        frozen, open_block = (blocks, []) if final else (blocks[:-1], blocks[-1:])
        updates: list[BlockUpdate] = []
        for block in frozen:
            updates.append(FrozenBlock(self._frozen, self._render(block, env)))
            self._frozen += 1
        if final:
            self._tail = ""
        elif frozen:
            start_line = open_block[0][0].map[0] if open_block and open_block[0][0].map else 0
            drop = _line_offset(shown, start_line) if open_block else len(shown)
            self._tail = self._tail[drop:]
            if self._settled_line is not None:
                self._settled_line -= drop
        split, prefix = rendered if rendered is not None and len(blocks) == 1 else (0, "")
        parts = self._render_tokens(open_block[0], env, split) if open_block else []
        tail_html = prefix + "".join(parts)
        if updates or tail_html != self._tail_html:
            updates.append(TailBlock(tail_html))
        self._tail_html = tail_html
        self._inline_html = env[_INLINE_NEXT]  # what this render used, for the next
        self._shown = None if final or frozen else shown
        self._reuse = None
        leaf = env.get(_LEAF)
        if self._shown is not None and leaf is not None and len(blocks) == 1:
            index = leaf[0]
            # Tokens before the leaf's paragraph and the one before that (whose
            # rendering looks at it) render the same next time: keep their HTML.
            keep = max(index - 2, 0) if tokens[index].type == "inline" else index
            kept = (keep, prefix + "".join(parts[: keep - split])) if keep >= split else None
            self._reuse = (shown, tokens, *leaf, kept)
        return updates

    def _parse(
        self, shown: str, env: dict[str, Any], *, final: bool
    ) -> tuple[list[Token], tuple[int, str] | None]:
        """`md.parse`, reusing the last update's block tokens when only the open line
        grew (`_reusable_leaf`); then also the HTML of the tokens before the leaf.
        The tokens' later core rules and render leave them reusable: paragraphs are
        unhidden again, each inline token's children are reset, and the one leaf whose
        source grew gets its content set here. Without that, a source equal to the
        complete lines' takes their block tokens (`_context`) if nothing used them yet."""
        reuse, self._reuse = self._reuse, None
        rendered = None
        if not final:
            env[_LEAF] = None  # ask `_block_rule` for the open leaf
            if reuse is not None:
                previous, tokens, index, content, trail, rendered = reuse
                grown = shown[len(previous) :]
                if shown.startswith(previous) and "\n" not in grown and not _MARK_CHARS.search(grown):
                    grown = grown.replace("\0", "\ufffd")  # as the core rule "normalize" does
                    if trail is None:  # a fence body: lines as they are
                        content += grown
                    else:  # a paragraph: trimmed (`paragraph` uses `mdTrim`)
                        untrimmed = content + trail + grown
                        content = untrimmed.rstrip(MD_TRIM_CHARS)
                        trail = untrimmed[len(content) :]
                    tokens[index].content = content
                    env[_BLOCKS] = tokens
                    env[_LEAF] = (index, content, trail)
                else:
                    rendered = None
            context_fits = shown == self._context_src and "\0" not in shown  # (not normalized)
            if _BLOCKS not in env and self._context_fresh and context_fits:
                env[_BLOCKS] = self._context_tokens
                self._context_fresh = False
        tokens = self._md.parse(shown, env)
        return tokens, rendered

    def _render(self, tokens: list[Token], env: dict[str, Any]) -> str:
        return "".join(self._render_tokens(tokens, env, 0))

    def _render_tokens(self, tokens: list[Token], env: dict[str, Any], start: int) -> list[str]:
        """`RendererHTML.render` from `tokens[start]` on, as a list of each token's HTML,
        with each inline token's HTML taken from the cache when its source was rendered
        before (see `_cached_inline`)."""
        renderer, options = cast(RendererHTML, self._md.renderer), self._md.options
        rules = renderer.rules
        used: dict[str, str] = env[_INLINE_NEXT]
        out: list[str] = []
        for i in range(start, len(tokens)):
            token = tokens[i]
            if token.type == "inline":
                source = token.meta.get(_INLINE_KEY)
                html = used.get(source) if source is not None else None
                if html is None:
                    html = renderer.renderInline(token.children, options, env) if token.children else ""
                    if source is not None:
                        used[source] = html
                out.append(html)
            elif token.type in rules:
                out.append(rules[token.type](tokens, i, options, env))
            else:
                out.append(renderer.renderToken(tokens, i, options, env))
        return out

    def _settled(self, src: str) -> str:
        """The longest prefix of `src` whose block structure cannot change (rules 2-4)."""
        line_start = src.rfind("\n") + 1
        complete, line = src[:line_start], src[line_start:]
        if self._settled_line != line_start:
            self._settled_line = None
        last = src.count("\n")
        context = self._context(complete)
        if complete != self._complete:
            self._complete = complete
            self._open_fences = [t for t in context if t.type == "fence" and t.map and t.map[1] == last]
            self._in_table = _ends_in(context, "table_open", complete)
            self._line_memo = {}
        if self._open_fences:
            # Only a fence that runs to the end of the complete lines can hold the open line.
            opener = self._open_fences[0]
            first = line.lstrip(" \t")[:1]
            if (
                len(self._open_fences) == 1
                and opener.level == 0
                and first
                and first != opener.markup[0]
                and opener.content.count("\n") == last - opener.map[0] - 1  # type: ignore[index]
            ):
                # A top-level fence still open: the line is in its body, and cannot close it.
                return src
            fence = _fence_around(self._blocks(src) if line else context, last)  # (src == complete)
            if fence is not None:
                return complete if self._may_close_fence(src, fence.markup, last) else src
        header = _possible_table_header(complete, line, context)
        if header is not None:
            # Keep showing what precedes the "|" (a list marker, say) if it was shown.
            last_start = complete.rfind("\n", 0, len(complete) - 1) + 1
            before, prefix = complete[:last_start], complete[last_start:header]
            return complete[:header] if self._line_settled_memo(before, prefix) else before
        if self._in_table:
            return complete
        pipe = _PIPE_LINE.match(line)
        if pipe:
            prefix = line[: pipe.end() - 1]
            return complete + prefix if self._line_settled_memo(complete, prefix) else complete
        if self._settled_line == line_start or self._line_settled(complete, line):
            if _SETTLED_CONTENT.match(line) or _DECIDED_CONTENT.match(line):
                self._settled_line = line_start  # its block role is fixed for the rest of the line
            return src
        return complete

    def _line_settled_memo(self, complete: str, line: str) -> bool:
        key = (complete, line)
        settled = self._line_memo.get(key)
        if settled is None:
            settled = self._line_memo[key] = self._line_settled(complete, line)
        return settled

    def _may_close_fence(self, src: str, markup: str, last: int) -> bool:
        """Could the open last line, inside a fence body, still become its closing fence?"""
        for probe in (markup, ""):
            extended = _fence_around(self._blocks(src + probe + "\n"), last)
            if extended is not None and extended.content.count("\n") < last - extended.map[0]:  # type: ignore[index]
                return True
        return False

    def _line_settled(self, complete: str, line: str) -> bool:
        """Would no continuation of the open `line` change the block structure?"""
        if not line.strip():
            return False  # a blank line would end the paragraph it may yet continue
        if not _MARKER_START.match(line) or _DECIDED_CONTENT.match(line):
            return True
        complete = complete[self._probe_start(complete) :]
        base = self._skeleton(complete + line)
        return all(self._skeleton(complete + line + probe) == base for probe in _PROBES)

    def _skeleton(self, src: str) -> tuple[tuple[object, ...], ...]:
        return tuple(
            (t.type, t.tag, t.level, t.markup, t.info if t.type == "fence" else "", sorted(t.attrs.items()))
            for t in self._blocks(src)
            if t.type != "inline"
        )

    def _probe_start(self, complete: str) -> int:
        """Where probing may start: the items of a list are independent of each other,
        so when the last block is a list its last top-level item is context enough."""
        last_item: int | None = None
        in_list = False
        for token in self._context(complete):
            if token.level == 0 and token.nesting >= 0:
                in_list = token.type in ("bullet_list_open", "ordered_list_open")
                last_item = None
            elif in_list and token.type == "list_item_open" and token.level == 1 and token.map:
                last_item = token.map[0]
        return 0 if last_item is None else _line_offset(complete, last_item)

    def _blocks(self, src: str) -> list[Token]:
        """Block tokens only: structure decisions never need the inline parse."""
        tokens: list[Token] = []
        self._md.block.parse(src, self._md, {}, tokens)
        return tokens

    def _context(self, complete: str) -> list[Token]:
        """Block tokens of the complete lines; they only change at a newline. The two
        latest are kept (a table header's probe asks about the lines before it)."""
        if self._context_src != complete:
            previous = (self._context_src, self._context_tokens)
            if self._context_prev[0] == complete:
                self._context_src, self._context_tokens = self._context_prev
                self._context_fresh = False
            else:
                self._context_src, self._context_tokens = complete, self._blocks(complete)
                self._context_fresh = True  # may serve once as the render's block tokens
            self._context_prev = previous
        return self._context_tokens

    def _mark_html(self, mark: Mark) -> str:
        if isinstance(mark, Struck):
            return f'<del class="streamui-struck">{self._inline(mark.text)}</del>'
        return (
            '<span class="streamui-revised">'
            '<button type="button" class="streamui-revised-mark" aria-expanded="false"'
            ' title="The model revised this passage; show the original">revised</button>'
            f'<del class="streamui-revised-original" hidden>{self._inline(mark.original)}</del>'
            "</span>"
        )

    def _inline(self, text: str) -> str:
        return str(self._md.renderInline(_MARK_CHARS.sub("", text).strip()))


_INLINE_KEY: Final = "streamui_inline"
_INLINE_NEXT: Final = "streamui_inline_next"
_BLOCKS: Final = "streamui_blocks"
_PARSED: Final = "streamui_parsed"
_LEAF: Final = "streamui_leaf"


def _block_rule(state: StateCore) -> None:
    """The core "block" rule, or the block tokens `MarkdownStream._parse` prepared."""
    reused: list[Token] | None = state.env.pop(_BLOCKS, None)
    if reused is not None:
        state.tokens.extend(reused)
        return
    core_block(state)
    if _LEAF in state.env:
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
    for a source in the previous update is reused (`MarkdownStream._render`), and only
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


def _possible_table_header(complete: str, line: str, context: list[Token]) -> int | None:
    """Where to stop showing the last complete line if it could still become a table
    header (its first "|"): it starts with "|", is not code or a table row already,
    and `line` (the next line, maybe empty) could still grow into a delimiter row."""
    if not complete or not _DELIMITER_ROW_PREFIX.fullmatch(line):
        return None
    last_start = complete.rfind("\n", 0, len(complete) - 1) + 1
    pipe = _PIPE_LINE.match(complete, last_start)
    if not pipe:
        return None
    last = complete.count("\n") - 1
    for token in context:
        if token.type in ("table_open", "fence", "code_block") and token.map and token.map[0] <= last < token.map[1]:
            return None
    return pipe.end() - 1


def _top_level_blocks(tokens: list[Token]) -> list[list[Token]]:
    blocks: list[list[Token]] = []
    depth = 0
    for token in tokens:
        if depth == 0:
            blocks.append([])
        blocks[-1].append(token)
        depth += token.nesting
    return blocks


def _line_offset(src: str, line: int) -> int:
    pos = 0
    for _ in range(line):
        nl = src.find("\n", pos)
        if nl < 0:
            return len(src)
        pos = nl + 1
    return pos


def _ends_in(tokens: list[Token], kind: str, src: str) -> bool:
    """Is the last line of `src` inside a block of type `kind`?"""
    last = src.count("\n") - 1
    return any(t.type == kind and t.map and t.map[0] <= last < t.map[1] for t in tokens)


def _fence_around(tokens: list[Token], line: int) -> Token | None:
    """The fenced code block whose body (after its opening line) spans `line`."""
    for token in tokens:
        if token.type == "fence" and token.map and token.map[0] < line < token.map[1]:
            return token
    return None


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
