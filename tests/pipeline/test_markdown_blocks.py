"""`markdown_blocks.blocks_of`, which re-parses only a list's last item at a newline, gives
exactly the tokens a parse of the whole source gives, on every newline of real answers and of
generated list documents; and it does re-parse only the last item."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it.token import Token

from streamui.pipeline import markdown_blocks, markdown_settle
from streamui.pipeline.chat import ChatPipeline
from streamui.pipeline.commit import CommitStage
from streamui.pipeline.markdown_blocks import Blocks, blocks_of, parse_blocks
from streamui.pipeline.markdown_reuse import _stream_parsers
from streamui.pipeline.smoothing import make_strategy
from streamui.pipeline.virtual import TimedFrame, drive
from streamui.testing.profiles import build_trace
from streamui.testing.simulated import answer_corpus

MD, _ = _stream_parsers(False)


def _fields(tokens: list[Token]) -> list[tuple[Any, ...]]:
    return [(t.type, t.tag, t.nesting, t.level, t.map, t.markup, t.info, t.content, t.hidden, sorted(t.attrs.items()),
             t.block, t.meta) for t in tokens]


def _check_every_newline(doc: str) -> int:
    """Feeds the complete lines of `doc` one at a time; returns how many took the list path."""
    lines = doc.split("\n")
    previous: Blocks | None = None
    grown = 0
    for count in range(1, len(lines)):
        src = "\n".join(lines[:count]) + "\n"
        before = previous
        previous = blocks_of(MD, src, previous)
        assert _fields(previous.tokens) == _fields(parse_blocks(MD, src)), repr(src)
        grown += before is not None and previous.tokens is not before.tokens and bool(before.tokens) and any(
            a is b for a, b in zip(previous.tokens, before.tokens, strict=False))
    return grown


def test_every_newline_of_the_answer_corpus() -> None:
    grown = sum(_check_every_newline(item.answer) for item in answer_corpus())
    assert grown > 500  # the list path was taken, not only the whole parse


@pytest.mark.parametrize("doc", [
    "- a\n- b\n\n- c\n- d\n",  # a blank line between items makes the whole list loose
    "- a\n- b\n\n  c\n- d\n",  # ... and so does one inside an item
    "1. a\n2. b\n   - x\n\n   - y\n3. c\n\npara\n",  # a nested list's looseness is its own
    "- ```\n  x\n  ```\n\n- b\n- c\n",  # no paragraph before: whether it was loose is not visible
    "* a\n* b\n- c\n- d\n",  # another bullet starts another list
    "- a\n- b\nlazy\n- c\n---\n- d\n",  # a lazy line, a thematic break, a new list
    "3. a\n4. b\n5) c\n",  # the ordered list keeps its start; another delimiter is another list
    "- a\n-\n- \n  b\n",  # empty items
    "- a\n    code?\n- b\n\n      code\n",
])
def test_constructs_at_every_newline(doc: str) -> None:
    _check_every_newline(doc)


_LINES = st.sampled_from([
    "- a", "* b", "+ c", "1. d", "2) e", "10. f", "-", "- ", "  - g", "    - h", "   i", "  j", "k", "",
    "  ```", "```", "~~~", "  code", "> q", "  > r", "# head", "  ## sub", "---", "***", "| x |", "|---|",
    "  | y |", "  |---|", "- [ref]: /url", "[ref]: /url", "- **bold", "  lazy text", "\t- tab",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES, min_size=1, max_size=14))
def test_generated_list_documents(lines: list[str]) -> None:
    _check_every_newline("\n".join(lines) + "\n")


def test_only_the_last_item_is_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    items = [f"- item {i} with some words" for i in range(30)]
    previous = blocks_of(MD, "\n".join(items[:-1]) + "\n", None)
    parsed: list[str] = []
    real = markdown_blocks.parse_blocks

    def spy(md: Any, src: str) -> list[Token]:
        parsed.append(src)
        return real(md, src)

    monkeypatch.setattr(markdown_blocks, "parse_blocks", spy)
    grown = blocks_of(MD, "\n".join(items) + "\n", previous)
    assert parsed == [items[-2] + "\n" + items[-1] + "\n"]  # the item the newline ended, and the new one
    assert _fields(grown.tokens) == _fields(real(MD, "\n".join(items) + "\n"))


def _frames(profile: str, policy: str, seed: int, answer: str) -> list[str]:
    frames: list[TimedFrame] = []
    pipeline = ChatPipeline(message_id=1, strategies=[make_strategy("adaptive")], start=0.0,
                            commit=CommitStage(policy))
    drive(pipeline, build_trace(profile, answer, seed=seed).events, frames=frames)
    return [frame.html for frame in frames]


@pytest.mark.parametrize("policy", ["replace", "annotate"])
def test_marked_answers_render_as_with_whole_parses(policy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Corrections put marks in list items; rendering strips them off its tokens, and a later splice
    shares those tokens. Every frame must be what whole parses give (found by the browser test
    test_the_dom_never_loses_a_character_it_showed: a revised mark vanished from an earlier item)."""
    answers = [item.answer for item in answer_corpus()[:12]]
    spliced = [_frames("corrections", policy, i, answer) for i, answer in enumerate(answers)]
    monkeypatch.setattr(markdown_settle, "blocks_of", lambda md, src, previous: Blocks(src, parse_blocks(md, src), None))
    monkeypatch.setattr(markdown_settle.BlockSettler, "grown_blocks", lambda self, src: None)
    whole = [_frames("corrections", policy, i, answer) for i, answer in enumerate(answers)]
    assert spliced == whole
