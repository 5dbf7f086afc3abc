"""Which part of the open tail's last line may be shown: rules 2-4 of `markdown`.

A line is shown only once its block role is settled: a line starting with a block
marker is probed with a few continuations and held while any would change the block
structure; inside a code fence a line that could still close it waits for its newline;
a line with "|" waits until the next line shows it is no table header, and inside a
table the open row waits for its newline. `BlockSettler` keeps what makes that cheap per
append: the complete lines' block tokens (parsed once per newline), the open line once
it is known to be settled, and memoized probe results.
"""

from __future__ import annotations

import re
from typing import Final

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .markdown_blocks import Blocks, blocks_of, grown_list, lend, line_offset, parse_blocks

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



class BlockSettler:
    """The settle checks of one `MarkdownStream`, and their caches."""

    def __init__(self, md: MarkdownIt) -> None:
        self._md = md
        self.settled_line: int | None = None  # tail offset of an open line known to be settled
        self._context = self._context_prev = Blocks("", [], None)
        self.context_fresh = False  # context_tokens may serve once as the render's block tokens
        self._complete = ""  # the complete lines the caches below are about
        self._open_fences: list[Token] = []  # fences in the context that reach its end
        self._in_table = False  # the last complete line is inside a table
        self._line_memo: dict[tuple[str, str], bool] = {}  # _line_settled results

    def settled(self, src: str) -> str:
        """The longest prefix of `src` whose block structure cannot change (rules 2-4)."""
        line_start = src.rfind("\n") + 1
        complete, line = src[:line_start], src[line_start:]
        if self.settled_line != line_start:
            self.settled_line = None
        last = src.count("\n")
        context = self.context(complete)
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
            fence = _fence_around(self.blocks(src) if line else context, last)  # (src == complete)
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
        if self.settled_line == line_start or self._line_settled(complete, line):
            if _SETTLED_CONTENT.match(line) or _DECIDED_CONTENT.match(line):
                self.settled_line = line_start  # its block role is fixed for the rest of the line
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
            extended = _fence_around(self.blocks(src + probe + "\n"), last)
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
            for t in self.blocks(src)
            if t.type != "inline"
        )

    def _probe_start(self, complete: str) -> int:
        """Where probing may start: the items of a list are independent of each other,
        so when the last block is a list its last top-level item is context enough."""
        last_item: int | None = None
        in_list = False
        for token in self.context(complete):
            if token.level == 0 and token.nesting >= 0:
                in_list = token.type in ("bullet_list_open", "ordered_list_open")
                last_item = None
            elif in_list and token.type == "list_item_open" and token.level == 1 and token.map:
                last_item = token.map[0]
        return 0 if last_item is None else line_offset(complete, last_item)

    def blocks(self, src: str) -> list[Token]:
        return parse_blocks(self._md, src)

    def grown_blocks(self, src: str) -> list[Token] | None:
        """Block tokens of `src` (the complete lines and an open line) from the complete lines' own,
        when those end in a list (`markdown_blocks.grown_list`); None when they do not. The render
        gets copies (`lend`): the complete lines' tokens stay as parsed."""
        grown = grown_list(self._md, src, self._context)
        return None if grown is None else lend(grown.tokens)

    def context(self, complete: str) -> list[Token]:
        """Block tokens of the complete lines; they only change at a newline, and then only
        the last item of a list that ends them is parsed again (`markdown_blocks`). The two
        latest are kept (a table header's probe asks about the lines before it)."""
        if self.context_src != complete:
            previous = self._context
            if self._context_prev.src == complete:
                self._context = self._context_prev
                self.context_fresh = False
            else:
                self._context = blocks_of(self._md, complete, previous)
                self.context_fresh = True  # may serve once as the render's block tokens (copied: `lend`)
            self._context_prev = previous
        return self._context.tokens

    @property
    def context_src(self) -> str:
        """The complete lines the last `context` call was about."""
        return self._context.src

    @property
    def context_tokens(self) -> list[Token]:
        """Their block tokens (the settle checks' own: a render takes copies, `lend`)."""
        return self._context.tokens


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



__all__ = ["BlockSettler"]
