"""A stopped answer's page is what a reload shows: the live page after Stop equals the stored
text rendered (streamui.rendering.markdown_html), even where Stop caught a bare list marker.

Before, `markdown_close` dropped a trailing "2. " from the stored text only: the live page kept
an empty list item (and "- b" over "  -" showed as "b-") that a reload did not show."""

from __future__ import annotations

import re

import pytest

from streamui import fragments
from streamui.pipeline.chat import ChatPipeline
from streamui.pipeline.commit import CommitStage
from streamui.pipeline.smoothing import make_strategy
from streamui.rendering import markdown_html
from streamui.testing.simulated import answer_corpus
from streamui.upstream.events import TextDelta
from streamui.upstream.tokens import split_tokens
from tools.loadgen.oob_dom import Element, Page

OUT = "su-m1-out"
_MARKER_END = re.compile(r"\n[ ]*(?:[-*+]|\d{1,3}[.)])[ ]?")


def stopped_page(text: str, *, commit: bool) -> tuple[str, str]:
    """(the live page's answer HTML after Stop, the stored text's render)."""
    pipeline = ChatPipeline(message_id=1, strategies=[make_strategy("adaptive")], start=0.0,
                            commit=CommitStage("replace") if commit else None)
    page = Page(html=str(fragments.assistant_turn(1)))
    now = 0.0
    for piece in split_tokens(text):
        pipeline.push(TextDelta(piece), now)
        while (wake := pipeline.wake_at) is not None and wake <= now:
            step = pipeline.poll(now)
            if step.html:
                page.apply_frame(step.html)
        now += 0.02
    last = pipeline.stop(now)
    if last:
        page.apply_frame(last)
    blocks, tail = page.find(f"{OUT}-blocks"), page.find(f"{OUT}-tail")
    assert blocks is not None and tail is not None
    shown = Element("body", {})
    shown.children = [*blocks[1].children, *tail[1].children]
    return shown.html(), Page(html=markdown_html(pipeline.shown_text)).body.html()


@pytest.mark.parametrize("text", [
    "Items:\n\n1. First\n2. ", "Items:\n\n1. First\n2.", "Items:\n\n- a\n- ", "Items:\n\n- a\n-",
    "Items:\n\n- a\n- b\n  - ", "Items:\n\n1. First\n2. **Bo", "- **Bold", "Plain words, then\n\n- ",
])
def test_a_stop_on_a_bare_list_marker_leaves_the_page_its_reload_shows(text: str) -> None:
    live, stored = stopped_page(text, commit=False)
    assert live == stored
    assert "<li></li>" not in live


_WITH_LISTS = [i for i, item in enumerate(answer_corpus()) if _MARKER_END.search(item.answer)]


@pytest.mark.parametrize("index", _WITH_LISTS[::8])
def test_corpus_answers_stopped_right_after_a_list_marker_show_what_a_reload_shows(index: int) -> None:
    answer = answer_corpus()[index].answer
    cuts = [m.end() for m in _MARKER_END.finditer(answer)][:6]
    assert cuts
    for cut in cuts:
        live, stored = stopped_page(answer[:cut], commit=True)
        assert live == stored, answer[max(0, cut - 40):cut]
