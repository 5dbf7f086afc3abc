"""Compact websocket frames (streamui.wire) in real Chromium: the DOM they build is the finished answer's.

The answer (tests/browser/markdown_answer.md, from the site's own upstream) has headings, nested
lists, a code block, a quote and a table, so text appends (`a`), markup appends (`h`, parsed by
the browser as htmx would), moved frozen blocks (`z`) and htmx structure all take part. The streamed output is compared with the same answer rendered
from the database after a reload, byte for byte; then a refresh and a dropped socket mid-stream
must still end in that very DOM.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import LiveSite
from .flaky_upstream import MARKDOWN_PROMPT
from .test_chat import fresh_chat, send_prompt, wait_connected

pytestmark = pytest.mark.browser

OUTPUT = "[data-streamui=output]"
# The answer's DOM as the page holds it: the output's children, serialized (text-node splits do not show).
OUTPUT_HTML = "() => [...document.querySelectorAll('[data-streamui=output]')].pop().innerHTML"


HIDE = """() => {
  Object.defineProperty(document, "hidden", { value: true, configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""
SHOW = """() => {
  Object.defineProperty(document, "hidden", { value: false, configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def wait_done(page: Any) -> None:
    page.wait_for_selector("[data-streamui=status][data-state=done]", timeout=60_000)


def start(page: Any, site: LiveSite, prompt: str) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []

    def received(payload: str) -> None:
        frame = json.loads(payload)
        frames.append({"a": frame} if isinstance(frame, str) else frame)  # a bare string: a lone text append

    page.on("websocket", lambda ws: ws.on("framereceived", received))
    fresh_chat(page, site, "custom")
    page.select_option("[data-streamui=strategy]", "adaptive")
    send_prompt(page, MARKDOWN_PROMPT + " " + prompt)
    return frames


def reloaded_html(page: Any) -> str:
    page.reload()  # now rendered from the database
    wait_connected(page)
    page.wait_for_selector(OUTPUT)
    return str(page.evaluate(OUTPUT_HTML))


def test_the_streamed_dom_is_the_finished_answers_dom(page: Any, live_site: LiveSite) -> None:
    frames = start(page, live_site, "all of it")
    wait_done(page)
    streamed = str(page.evaluate(OUTPUT_HTML))
    texts = [f for f in frames if "a" in f]
    moves = [f for f in frames if "z" in f]
    assert len(texts) > 10, "the text did not stream as compact appends"
    assert moves, "no frozen block was moved instead of sent again"
    assert any("h" in f for f in frames), "no markup append went compact"
    assert any("t" in f for f in texts) and sum("t" in f for f in texts) < len(texts) / 2
    assert any("<" in f["a"] for f in texts)  # the answer's own "3 < 4", as text: it shows, escaped
    assert "<pre><code" in streamed and "<table>" in streamed and "<h3>" in streamed and "<ol>" in streamed
    assert "&amp; &lt;friends&gt;" in streamed
    assert streamed == reloaded_html(page)


def test_a_refresh_mid_stream_ends_in_the_same_dom(page: Any, live_site: LiveSite) -> None:
    start(page, live_site, "refreshed")
    page.wait_for_function(f"() => [...document.querySelectorAll('{OUTPUT}')].pop()?.textContent.length > 150")
    page.reload()
    wait_connected(page)
    wait_done(page)
    streamed = str(page.evaluate(OUTPUT_HTML))
    assert "Closing words after everything" in streamed
    assert streamed == reloaded_html(page)


def test_a_dropped_socket_resumes_into_the_same_dom(page: Any, live_site: LiveSite) -> None:
    frames = start(page, live_site, "dropped")
    page.wait_for_function(f"() => [...document.querySelectorAll('{OUTPUT}')].pop()?.textContent.length > 150")
    before = len(frames)
    # The tab goes to the background (htmx's ws extension closes the socket) and comes back (a new
    # socket): the widget resumes after the last seq it applied, counting the compact frames that imply theirs.
    page.evaluate(HIDE)
    page.wait_for_timeout(300)
    page.evaluate(SHOW)
    wait_done(page)
    streamed = str(page.evaluate(OUTPUT_HTML))
    resumed = frames[before:]
    assert any("seq" in f and "stream" in f for f in resumed), "the widget did not resume on a new socket"
    assert any("t" in f for f in resumed if "a" in f) or not any("a" in f for f in resumed)
    assert "Closing words after everything" in streamed
    assert streamed == reloaded_html(page)
