"""Where the settled part of an open paragraph ends: rule 5 of `markdown`.

The open paragraph is parsed with markdown-it's own inline rules, wrapped to observe
(never change) what they decide: delimiter runs that may still open a span, unmatched
code-span backticks, brackets that more text could turn into a link, a "<" that could
become an autolink, a "&" that could become an entity, a trailing backslash. The
prefix before the first of those renders the same whatever follows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

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

from .markdown_parser import build_markdown

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



__all__ = ["InlineAnalyser"]
