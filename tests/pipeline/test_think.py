from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamui.pipeline.think import Segment, ThinkSplitter


def split(chunks: list[str], *, start_in_think: bool = False) -> tuple[str, str]:
    splitter = ThinkSplitter(start_in_think=start_in_think)
    segments: list[Segment] = []
    for chunk in chunks:
        segments.extend(splitter.feed(chunk))
    segments.extend(splitter.flush())
    assert all(text for _, text in segments), "no empty segments"
    answer = "".join(t for c, t in segments if c == "answer")
    reasoning = "".join(t for c, t in segments if c == "reasoning")
    return answer, reasoning


DOC = "<think>\nThe user wants 2+2. That is 4.\n</think>\n\nThe answer is 4."


def test_think_span_goes_to_reasoning_and_tags_vanish() -> None:
    answer, reasoning = split([DOC])
    assert answer == "The answer is 4."
    assert reasoning == "\nThe user wants 2+2. That is 4.\n"


@pytest.mark.parametrize("cut", range(1, len(DOC)))
def test_every_split_point(cut: int) -> None:
    assert split([DOC[:cut], DOC[cut:]]) == split([DOC])


def test_char_by_char() -> None:
    assert split(list(DOC)) == split([DOC])


def test_partial_tag_is_held_until_decided() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<thi") == []
    assert splitter.feed("nk>why") == [("reasoning", "why")]
    assert splitter.feed("</th") == []
    assert splitter.feed("inkless") == [("reasoning", "</thinkless")]


def test_lookalike_is_released_as_answer() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("a\n<th") == [("answer", "a\n")]
    assert splitter.feed("ey>") == [("answer", "<they>")]


def test_unterminated_think_stays_reasoning() -> None:
    assert split(["<think>still thinking", " when the stream e"]) == ("", "still thinking when the stream e")


def test_unterminated_partial_close_at_the_end_is_reasoning() -> None:
    assert split(["<think>hmm</thi"]) == ("", "hmm</thi")


def test_opening_tag_mid_line_is_answer_text() -> None:
    answer, reasoning = split(["Use the `<think>` tag.\n"])
    assert answer == "Use the `<think>` tag.\n"
    assert reasoning == ""


def test_opening_tag_after_a_line_break_or_indent_counts() -> None:
    assert split(["Intro\n  <think>x</think>rest"]) == ("Intro\n  rest", "x")
    assert split(["Intro\n", "<think>x</think>rest"]) == ("Intro\nrest", "x")


def test_stray_closing_tag_is_dropped() -> None:
    assert split(["a</think>b"]) == ("ab", "")


def test_start_in_think() -> None:
    assert split(["reasoning first</think>\nanswer"], start_in_think=True) == ("answer", "reasoning first")


def test_line_breaks_after_close_are_dropped_across_chunks() -> None:
    assert split(["<think>r</think>", "\n", "\n", "A\n\nB"]) == ("A\n\nB", "r")


def test_two_spans() -> None:
    assert split(["<think>a</think>X\n<think>b</think>Y"]) == ("X\nY", "ab")


def test_empty_tags_rejected() -> None:
    with pytest.raises(ValueError):
        ThinkSplitter("", "</think>")


PIECES = ["<think>", "</think>", "<", "</", "<th", "think>", ">", "\n", " ", "a", "b.", "x < y", "\t"]


@settings(max_examples=400, deadline=None)
@given(
    text=st.lists(st.sampled_from(PIECES), max_size=20).map("".join),
    cuts=st.lists(st.integers(0, 200), max_size=12),
    start_in_think=st.booleans(),
)
def test_any_chunking_splits_like_the_whole_text(text: str, cuts: list[int], start_in_think: bool) -> None:
    bounds = sorted({0, len(text), *(c for c in cuts if c < len(text))})
    chunks = [text[a:b] for a, b in itertools.pairwise(bounds)]
    assert split(chunks, start_in_think=start_in_think) == split([text], start_in_think=start_in_think)
