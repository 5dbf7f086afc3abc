"""One update's block tokens and HTML for `MarkdownStream`, reusing the last update's work.

Cost. `append` runs per revealed word, so the work of the rules in `markdown` is kept from
growing with the tail where that changes nothing (the output is exactly what re-parsing
everything gives; tests/pipeline/test_markdown_equivalence.py compares it with the original):

- Settle checks are cached per open line. The complete lines' block tokens are parsed
  once per newline, and when they end in a list only from its last item on
  (`markdown_blocks`): a long list no longer costs its whole length at every newline. The
  render's block tokens come from those too when it cannot reuse the last update's: the last
  item and the open line are parsed, not the list. A line whose content decides its block
  role (`_DECIDED_CONTENT`: after its container markers, characters that rule out every construct that looks
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

- Plain text on the open line of a paragraph none of which is held
  (`MarkdownStream._plain_append`: no newline, mark or character an inline rule starts on),
  and any text on a line of a top-level fence body that cannot close it, needs no parse and
  no render: the paragraph's inline HTML (the fence's code) grows by the escaped text. Most
  words take this path (tests/pipeline/test_markdown_plain_appends.py checks it against the
  full path).

What stays linear in the open block is, for an append with markup in it or after a
construct still held, its inline cut analysis (the open paragraph is parsed once per
such append), and the parse of the open block at each newline when it is no list.

Here are the parse with those reuses (`parse`, whose core rules are in `markdown_reuse`), the
render with the inline HTML cache (`render_tokens`), and the HTML of a correction mark.
"""

from __future__ import annotations

from typing import Any, cast

from markdown_it import MarkdownIt
from markdown_it.common.utils import MD_TRIM_CHARS
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token

from .corrections import Revision, Struck
from .markdown_blocks import lend
from .markdown_parser import _BLOCKS, _INLINE_KEY, _INLINE_NEXT, _LEAF, _MARK_CHARS
from .markdown_settle import BlockSettler

Mark = Struck | Revision

Reuse = tuple[str, list[Token], int, str, str | None, tuple[int, str] | None]
"""What the next update may reuse of the last: its source, its block tokens, the index of the
open leaf, the leaf's content, for a paragraph the whitespace trimmed off its end (None for a
fence body), and (index, HTML) of the tokens before the leaf whose HTML is kept, if any."""


def parse(
    md: MarkdownIt, settle: BlockSettler, reuse: Reuse | None, shown: str, env: dict[str, Any], *, final: bool
) -> tuple[list[Token], tuple[int, str] | None]:
    """`md.parse`, reusing the last update's block tokens when only the open line
    grew (`_reusable_leaf`); then also the HTML of the tokens before the leaf.
    The tokens' later core rules and render leave them reusable: paragraphs are
    unhidden again, each inline token's children are reset, and the one leaf whose
    source grew gets its content set here. Without that, a source equal to the
    complete lines' takes their block tokens (`_context`) if nothing used them yet."""
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
        context_fits = shown == settle.context_src and "\0" not in shown  # (not normalized)
        if _BLOCKS not in env and settle.context_fresh and context_fits:
            env[_BLOCKS] = lend(settle.context_tokens)  # later complete lines share them: a copy
            settle.context_fresh = False
        elif _BLOCKS not in env and "\0" not in shown:
            spliced = settle.grown_blocks(shown)  # a list's last item and the open line, parsed alone
            if spliced is not None:
                env[_BLOCKS] = spliced
    tokens = md.parse(shown, env)
    return tokens, rendered


def top_level_blocks(tokens: list[Token]) -> list[list[Token]]:
    blocks: list[list[Token]] = []
    depth = 0
    for token in tokens:
        if depth == 0:
            blocks.append([])
        blocks[-1].append(token)
        depth += token.nesting
    return blocks


def render(md: MarkdownIt, tokens: list[Token], env: dict[str, Any]) -> str:
    return "".join(render_tokens(md, tokens, env, 0))


def render_tokens(md: MarkdownIt, tokens: list[Token], env: dict[str, Any], start: int) -> list[str]:
    """`RendererHTML.render` from `tokens[start]` on, as a list of each token's HTML,
    with each inline token's HTML taken from the cache when its source was rendered
    before (see `_cached_inline`)."""
    renderer, options = cast(RendererHTML, md.renderer), md.options
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


def mark_html(md: MarkdownIt, mark: Mark) -> str:
    """The HTML a correction mark renders as (the Marks part of `markdown`)."""
    if isinstance(mark, Struck):
        return f'<del class="streamui-struck">{_inline(md, mark.text)}</del>'
    return (
        '<span class="streamui-revised">'
        '<button type="button" class="streamui-revised-mark" aria-expanded="false"'
        ' title="The model revised this passage; show the original">revised</button>'
        f'<del class="streamui-revised-original" hidden>{_inline(md, mark.original)}</del>'
        "</span>"
    )


def _inline(md: MarkdownIt, text: str) -> str:
    return str(md.renderInline(_MARK_CHARS.sub("", text).strip()))


__all__ = ["Mark", "Reuse", "mark_html", "parse", "render", "render_tokens", "top_level_blocks"]
