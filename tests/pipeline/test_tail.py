"""The open tail sent as what changed: the page ends up exactly as with a full replace, in far fewer bytes."""

from __future__ import annotations

import random

import pytest

from streamui import fragments
from streamui.pipeline.lane import Lane
from streamui.pipeline.metrics import StreamMetrics
from streamui.pipeline.smoothing import Passthrough
from streamui.pipeline.tail import tail_append, tail_appends
from streamui.testing.simulated import answer_corpus
from tools.loadgen.oob_dom import Page, parse_html

OUT = "su-m1-out"


class Clock:
    def now(self) -> float:
        return 0.0


def dom(html: str) -> str:
    return "".join(n if isinstance(n, str) else n.html() for n in parse_html(html))


def play(text: str, seed: int) -> tuple[Page, Lane, list[str]]:
    """Reveal `text` in random pieces through a lane; apply every fragment; check the tail after each."""
    rng = random.Random(seed)
    lane = Lane(Passthrough(), OUT, StreamMetrics(Clock()))
    page = Page(html=str(fragments.markdown_body(OUT)))
    sent: list[str] = []
    i = 0
    while i < len(text):
        n = rng.choice((1, 2, 3, 5, 8, 13))
        lane.push(text[i:i + n], 0.0)
        i += n
        out: list[str] = []
        lane.poll(0.0, out)
        for fragment in out:
            page.apply(fragment)
        sent += out
        assert lane.markdown is not None
        tail = page.find(f"{OUT}-tail")
        assert tail is not None
        assert "".join(c if isinstance(c, str) else c.html() for c in tail[1].children) == dom(
            lane.markdown._tail_html)
    lane.finish(0.0)
    out = []
    lane.poll(0.0, out)
    lane.close(0.0, out)
    for fragment in out:
        page.apply(fragment)
    return page, lane, sent + out


ANSWERS = [a.answer for a in answer_corpus()][:40]


@pytest.mark.parametrize("index", range(0, len(ANSWERS), 3))
def test_appends_build_the_same_page_as_replacing_the_tail(index: int) -> None:
    text = ANSWERS[index]
    page, lane, sent = play(text, index)
    blocks = page.find(f"{OUT}-blocks")
    assert blocks is not None
    assert lane.text == text
    reference = Lane(Passthrough(), OUT, StreamMetrics(Clock()))
    reference.push(text, 0.0)
    out: list[str] = []
    reference.poll(0.0, out)
    reference.finish(0.0)
    reference.poll(0.0, out)
    reference.close(0.0, out)
    expected = Page(html=str(fragments.markdown_body(OUT))).apply_all(out)
    assert page.find(f"{OUT}-blocks")[1].html() == expected.find(f"{OUT}-blocks")[1].html()  # type: ignore[index]
    assert any('hx-swap-oob="beforeend:' in f for f in sent)


def test_bytes_grow_with_the_answer_not_its_square() -> None:
    text = max(ANSWERS, key=len)
    page, _, sent = play(text, 1)
    payload = sum(len(n if isinstance(n, str) else n.html()) for f in sent for n in parse_html(f)[0].children)  # type: ignore[union-attr]
    blocks = page.find(f"{OUT}-blocks")
    assert blocks is not None
    final = len(blocks[1].html())
    # Every reveal re-sending the whole open block would be many times the answer (41-115x measured).
    # Appends send each block once while it is open; it goes once more when it freezes, and a
    # list re-renders whole when it turns loose (its items get paragraphs): a few times, not per reveal.
    assert payload <= 3.5 * final, (payload, final)


def test_tail_append_cases() -> None:
    assert tail_append("<p>Hello wor</p>\n", "<p>Hello world</p>\n") == (("p",), "ld")
    assert tail_append("<ol>\n<li>a</li>\n</ol>\n", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n") == (
        ("ol",), "<li>b</li>\n")
    assert tail_append("<p>Hello</p>\n", "<h1>Hello</h1>\n") is None  # changed shape: replace
    assert tail_append("<p>a</p>\n", "<p>a <em>b</em></p>\n") == (("p",), " <em>b</em>")
    assert tail_append("<table><tr><td>a</td></tr></table>", "<table><tr><td>ab</td></tr></table>") is None
    assert tail_append("", "<p>a</p>") is None
    assert tail_append("<p>a</p>", "<p>a</p>") is None


def test_tail_appends_at_several_depths_in_one_reveal() -> None:
    old = "<ol>\n<li>\n<ul>\n<li>\n<p>legal matters</p>\n</li>\n</ul>\n</li>\n</ol>\n"
    new = "<ol>\n<li>\n<ul>\n<li>\n<p>legal matters, independently.</p>\n</li>\n</ul>\n</li>\n<li></li>\n</ol>\n"
    # The deepest first: the item's append names the old last item, before the new one exists.
    assert tail_appends(old, new) == [(("ol", "li", "ul", "li", "p"), ", independently."), (("ol",), "<li></li>\n")]
    assert tail_appends("<p>a</p>\n", "<p>ab</p>\n<p>c</p>\n") == [(("p",), "b"), ((), "<p>c</p>\n")]
    assert tail_appends("<p>a</p>\n", "<p>ab</p>\n") == [tail_append("<p>a</p>\n", "<p>ab</p>\n")]
    assert tail_appends("<p>a</p>\n", "<h1>ab</h1>\n") is None
    assert tail_appends("<p>a</p>\n", "<p>ab <b>c</p>\n") is None  # not balanced
    table = "<table><tr><td>a</td></tr></table>\n"
    assert tail_appends(table, "<table><tr><td>ab</td></tr></table>\n<p>x</p>\n") is None
    page = Page(html=str(fragments.markdown_body(OUT, "")))
    page.apply(str(fragments.replace_tail(OUT, old)))
    for change in tail_appends(old, new) or []:
        page.apply(str(fragments.append_tail(OUT, *change)))
    tail = page.find(f"{OUT}-tail")
    assert tail is not None and "".join(c if isinstance(c, str) else c.html() for c in tail[1].children) == dom(new)
