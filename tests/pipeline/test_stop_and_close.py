"""Stop keeps what was paid for: the committed cushion shows at once, held text and drafts stay
hidden, and an answer cut short ends as a finished markdown document."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamui.pipeline.chat import ChatPipeline
from streamui.pipeline.commit import CommitStage
from streamui.pipeline.markdown import MarkdownStream
from streamui.pipeline.markdown_close import closing
from streamui.pipeline.smoothing import make_strategy
from streamui.upstream.events import DraftDelta, TextDelta, UpstreamError

WORDS = ["The", "**capital**", "of", "France", "is", "Paris.", "It", "sits", "on", "the", "Seine,", "and", "about", "two", "million", "people", "live", "there.", "A", "list:\n\n-", "one\n-", "two", "**bold", "and"]


def streamed(pipeline: ChatPipeline, words: list[str], *, rate: float = 50.0) -> float:
    now = 0.0
    for word in words:
        now += 1 / rate
        pipeline.push(TextDelta(word + " "), now)
        while (wake := pipeline.wake_at) is not None and wake <= now:
            pipeline.poll(now)
    return now


def test_stop_shows_the_committed_cushion_but_not_what_the_commit_stage_holds() -> None:
    pipeline = ChatPipeline(message_id=1, strategies=[make_strategy("adaptive")], start=0.0,
                            commit=CommitStage(), record=True)
    now = streamed(pipeline, WORDS)
    pipeline.push(DraftDelta(" maybe Lyon"), now)  # a draft: never shown, not even on Stop
    committed = "".join(a.text for a in pipeline.commits or [])
    before = pipeline.shown_text
    assert len(before) < len(committed), "adaptive keeps a cushion of committed text: the case to test"
    pipeline.stop(now)
    shown = pipeline.shown_text
    assert shown.startswith(committed.rstrip(" "))  # all of it, at once
    assert "Lyon" not in shown and len(shown) < len("".join(WORDS)) + len(WORDS)  # drafts and held text hidden
    assert pipeline.done and pipeline.wake_at is None


def test_an_upstream_error_also_ends_as_a_finished_document() -> None:
    pipeline = ChatPipeline(message_id=1, strategies=[make_strategy("passthrough")], start=0.0)
    now = streamed(pipeline, ["Hello", "**wor"])
    pipeline.push(UpstreamError("the model server closed the connection", "dropped"), now)
    while not pipeline.done:
        pipeline.poll(now)
    assert pipeline.shown_text.rstrip().endswith("**wor**")


@pytest.mark.parametrize(
    ("text", "closed"),
    [
        ("Hello **bold", "Hello **bold**"),
        ("a *it", "a *it*"),
        ("**a** and **b", "**a** and **b**"),
        ("x `code", "x `code`"),
        ("```py\nprint(1)", "```py\nprint(1)\n```"),
        ("list:\n\n- one\n- ", "list:\n\n- one"),
        ("1. x\n2. ", "1. x"),
        ("* one\n* two *it", "* one\n* two *it*"),
        ("snake_case and done.", "snake_case and done."),
        ("A finished sentence.", "A finished sentence."),
        ("Hello **a**", "Hello **a**"),
        ("see the *", "see the"),
        ("and `", "and"),
    ],
)
def test_closing_finishes_the_open_block(text: str, closed: str) -> None:
    end = closing(text)
    assert text[: len(text) - end.drop] + end.append == closed


def rendered(text: str) -> str:
    stream = MarkdownStream()
    return "".join(u.html for u in [*stream.append(text), *stream.finish()])


def _may_stay_literal(text: str) -> bool:
    """Whether a "**" in `text` is the model's literal text in the finished answer too, not something
    the cut left open: one in a settled block (before the last blank line), or one CommonMark's flanking
    rules let open nothing (space on both sides; a space and more text after it, "1** 1"; a letter
    before it and punctuation after, "1**."). A "**" at the very end is the cut's: `closing` drops it."""
    settled, _, last = text.rpartition("\n\n") if "\n\n" in text else ("", "", text)
    if "**" in settled:
        return True
    for m in re.finditer(r"\*\*", last):
        before, rest = last[m.start() - 1: m.start()], last[m.end():]
        after = rest[:1]
        if (not before or before.isspace()) and (not after or after.isspace()):
            return True
        if after.isspace() and rest.strip():
            return True
        if before.isalnum() and after and not after.isalnum() and not after.isspace() and after != "*":
            return True
    return False


@given(st.text(alphabet="ab *_`-\n1.#", max_size=40))
def test_closing_never_raises_and_leaves_no_literal_double_star(text: str) -> None:
    end = closing(text)
    assert 0 <= end.drop <= len(text)
    html = rendered(text[: len(text) - end.drop] + end.append)
    literal = _may_stay_literal(text)
    if "`" not in text and "*" * 3 not in text and "_" not in text and not literal:
        assert "**" not in html.replace("<strong>", "").replace("</strong>", "")


def test_live_tokens_shown_count_a_speculative_streams_confirmed_text() -> None:
    from streamui.upstream.events import Confirm, End

    pipeline = ChatPipeline(message_id=1, strategies=[make_strategy("passthrough")], start=0.0, commit=CommitStage())
    for i, word in enumerate(["Paris ", "is ", "the ", "capital. "]):
        pipeline.push(DraftDelta(word), 0.1 * i)
    pipeline.push(Confirm(), 0.5)
    pipeline.push(End("stop"), 0.6)
    while not pipeline.done:
        pipeline.poll(1.0)
    assert pipeline.shown_text.strip() == "Paris is the capital."
    assert pipeline.figures()["shown"] == "4"  # was 0: only plain text events were counted
