"""What the JSON widgets look like for a real answer: labels once, markdown, a meter, link cards, badges."""

from __future__ import annotations

import json

from streamui.answer_schema import ANSWER_SCHEMA
from streamui.widgets import JSONWidgetRenderer, ToolCallsRenderer
from tools.loadgen.oob_dom import Page

ROOT = "su-7-json"
DOC = {
    "title": "Minors in court",
    "confidence": 0.58,
    "answer": "Minors **can** be sued.\n\n- through a *guardian*\n- <script>alert(1)</script>",
    "sources": [{"title": "Courts overview", "url": "https://example.org/courts"},
                {"title": "Bad", "url": "javascript:alert(1)"}],
    "follow_up": ["Can you give an example?"],
    "needs_review": False,
}


def render(text: str, size: int) -> tuple[Page, list[str]]:
    renderer = JSONWidgetRenderer(ROOT, schema=ANSWER_SCHEMA)
    fragments = [f for i in range(0, len(text), size) for f in renderer.feed(text[i:i + size])] + renderer.close()
    return Page(ROOT).apply_all(fragments), fragments


def test_an_answer_document_renders_designed_widgets_whatever_the_chunking() -> None:
    text = json.dumps(DOC)
    for size in (1, 7, len(text)):
        page, _fragments = render(text, size)
        html = page.body.html()
        labels = [e.text() for e in page.body.walk() if e.tag == "dt"]
        assert labels.count("Answer") == 1, labels  # the document's title "Answer" is not repeated above it
        assert "su-w-title" not in html
        answer = page.find("su-7-json--answer")[1]  # type: ignore[index]
        assert "su-w-md" in answer.attrs["class"]
        assert [e.text() for e in answer.walk() if e.tag == "strong"] == ["can"]
        assert [e.tag for e in answer.walk() if e.tag == "li"] == ["li", "li"]
        assert not [e for e in page.body.walk() if e.tag == "script"]  # markdown through the escaping renderer
        assert "<script>alert(1)</script>" in answer.text()
        meter = [e for e in page.body.walk() if e.tag == "meter"]
        assert len(meter) == 1 and meter[0].attrs["value"] == "0.58" and meter[0].attrs["aria-label"] == "Confidence"
        cards = [e for e in page.body.walk() if "su-source" in e.attrs.get("class", "").split()]
        assert len(cards) == 1 and cards[0].tag == "a" and cards[0].attrs["href"] == "https://example.org/courts"
        assert cards[0].text() == "Courts overviewexample.org"
        assert page.text_of("su-7-json--sources-1-url") == "javascript:alert(1)"  # not a link: stays a plain card
        assert page.text_of("su-7-json--needs_5f_review") == "✗ No"
        assert page.text_of("su-7-json--title") == "Minors in court"


def test_prose_in_json_mode_says_the_model_did_not_send_json() -> None:
    page, _ = render("Sure! Minors can be sued, but usually through a guardian.", 5)
    error = page.find("su-7-json--error")[1]  # type: ignore[index]
    assert "This model did not send JSON" in error.text()
    assert "Invalid JSON at character 0" not in error.text()
    details = next(e for e in error.walk() if e.tag == "details")
    assert "open" in details.attrs  # the prose answer is readable at once
    assert "Minors can be sued" in details.text()


def test_a_tool_card_has_a_state_and_a_result() -> None:
    tools = ToolCallsRenderer("su-9-tools")
    page = Page("su-9-tools")
    page.apply_all(tools.feed(0, "call_A", "search_web", '{"query": "minors"}'))
    page.apply_all(tools.feed(1, "call_B", "broken", '{"q": [1, }'))
    assert page.text_of("su-9-tools--call0--state") == "running"
    page.apply_all(tools.close())
    assert page.text_of("su-9-tools--call0--state") == "done"
    assert page.text_of("su-9-tools--call1--state") == "failed"
    page.apply_all(tools.result(0, '{"hits": 3}'))
    assert "Result" in (page.text_of("su-9-tools--call0--result") or "")
    assert "3" in (page.text_of("su-9-tools--call0--result") or "")
