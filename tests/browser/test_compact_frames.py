"""Compact websocket frames (streamui.wire) in real Chromium: the DOM they build is the finished answer's.

The answer (tests/browser/markdown_answer.md, from the site's own upstream) has headings, nested
lists, a code block, a quote and a table, so text appends (`a`), markup appends (`h`, parsed by
the browser as htmx would), moved frozen blocks (`z`) and htmx structure all take part. The streamed output is compared with the same answer rendered
from the database after a reload, byte for byte; then a refresh and a dropped socket mid-stream
must still end in that very DOM.
"""

from __future__ import annotations

from typing import Any

import pytest

from streamui.wire import read_payload

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


def parse_frame(payload: str) -> dict[str, Any]:
    """A frame as the widget reads it: a text append (raw, or a JSON string) as `a` (streamui.wire)."""
    frame = read_payload(payload)
    return {"a": frame} if isinstance(frame, str) else frame


def wait_done(page: Any) -> None:
    page.wait_for_selector("[data-streamui=status][data-state=done]", timeout=60_000)


def start(page: Any, site: LiveSite, prompt: str) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []

    def received(payload: str) -> None:
        frame = parse_frame(payload)
        if frame.get("a") == payload:
            frame["raw"] = True  # sent as the text itself (streamui.wire.payload)
        if payload[:1].isdigit():
            frame["raw_markup"] = True  # a markup append as its depth and markup
        frames.append(frame)

    page.on("websocket", lambda ws: ws.on("framereceived", received))
    fresh_chat(page, site, "custom")
    page.select_option("[data-streamui=strategy]", "adaptive")
    send_prompt(page, MARKDOWN_PROMPT + " " + prompt)
    return frames


# The whole conversation as the page holds it: the user's turns and the answers' shells, marks and outputs.
LOG_HTML = "() => document.querySelector('[data-streamui=log]').innerHTML"
# The same without the answers' text: the turns' shells (user turn, thinking, tools, lanes, mark).
SHELL_HTML = ("() => { const log = document.querySelector('[data-streamui=log]').cloneNode(true); "
              "log.querySelectorAll('.streamui-md').forEach(el => { el.innerHTML = ''; }); return log.innerHTML; }")
STATUS = "() => { const s = document.querySelector('[data-streamui=status]'); " \
         "return [s.getAttribute('data-state'), s.getAttribute('data-stream'), s.textContent]; }"


def reloaded_log(page: Any) -> str:
    page.reload()  # every turn rendered from the database
    wait_connected(page)
    page.wait_for_selector(OUTPUT)
    return str(page.evaluate(LOG_HTML))


def assert_compact_turn_and_status(frames: list[dict[str, Any]], end: str) -> None:
    """The turn came as `u` (no HTML) and the status line as `s` ops, from streaming to `end`."""
    turns = [f for f in frames if "u" in f]
    assert turns and all("content" not in f for f in turns), "the turn was not cloned from the template"
    states = [f["s"][0] for f in frames if "s" in f]
    assert states[0] == "streaming" and states[-1] == end, states
    since = frames[frames.index(turns[0]):]  # (New, before it, answers with the status div: not a stream)
    assert not any("data-streamui=\"status\"" in f.get("content", "") for f in since), "a status div was sent"
    assert not any("streamui-figures" in f.get("content", "") for f in since), "the figures went as HTML"
    assert any("k" in f for f in frames), "the mark was sent as HTML"


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
    assert sum(1 for f in texts if f.get("raw")) > 10, "lone text appends did not go as the text itself"
    assert moves, "no frozen block was moved instead of sent again"
    assert any("h" in f for f in frames), "no markup append went compact"
    assert any("r" in f for f in frames), "no tail replacement went compact"
    assert any(f.get("p", "x").split(" ")[0] == "" for f in frames), "no markup append left its output out"
    assert any("q" in f for f in texts) and sum("t" in f or "q" in f for f in texts) < len(texts) / 2
    assert not any("t" in f for f in texts)  # every target is in an output's tail: a short path
    assert any("<" in f["a"] for f in texts)  # the answer's own "3 < 4", as text: it shows, escaped
    assert "<pre><code" in streamed and "<table>" in streamed and "<h3>" in streamed and "<ol>" in streamed
    assert "&amp; &lt;friends&gt;" in streamed
    assert_compact_turn_and_status(frames, "done")
    # The eighth round's shorter forms each took part (streamui.wire_features).
    assert any(f.get("raw_markup") for f in frames), "no markup append went as its depth and markup"
    [turn] = [f["u"] for f in frames if "u" in f]
    assert turn[2:3] in ([], [None]), f"the turn sent back the prompt the widget sent: {turn}"
    assert all(len(f["s"]) == 2 for f in frames if "s" in f), "a status carried its label"
    assert all(isinstance(f["k"][0], int) for f in frames if "k" in f), "a mark was named by its element id"
    named = [f["q"] for f in frames if "q" in f] + [f["r"][0] for f in frames if "r" in f]
    assert any(name[:1].isdigit() for name in named), "no output was named by its message number"
    # The first figures came as the template's values: the server's <dl>, as htmx's swap would leave it.
    assert any("F" in f for f in frames)
    figures = page.locator("[data-streamui=figures]")
    assert figures.get_attribute("hx-swap-oob") is None and figures.get_attribute("class") == "streamui-figures"
    assert figures.locator("dt").first.text_content() == "first visible token"
    assert figures.locator("dd[data-figure=elapsed]").text_content().endswith(" s")
    assert figures.locator("dd[data-figure=strategy]").text_content() == "adaptive"
    # Then the changes by position (`g`): the page shows the last value of every figure sent.
    keys = ["ttft", "shown", "generated", "elapsed", "strategy"]
    assert any("g" in f for f in frames), "no figures delta went by position"
    sent: dict[str, str] = {}
    for f in frames:
        sent.update(zip(keys, f.get("F", []), strict=False))
        sent.update({k: v for k, v in zip(keys, f.get("g", []), strict=False) if v is not None})
    shown = page.evaluate("() => Object.fromEntries([...document.querySelectorAll("
                          "'[data-streamui=figures] dd[data-figure]')].map(dd => [dd.dataset.figure, dd.textContent]))")
    assert shown == sent
    stream = next(f["stream"] for f in frames if "stream" in f)
    assert page.evaluate(STATUS) == ["done", stream, ""]
    log = str(page.evaluate(LOG_HTML))
    assert streamed == reloaded_html(page)
    assert log == str(page.evaluate(LOG_HTML))  # the turns the template made are the ones the database renders


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
    assert any("q" in f for f in resumed if "a" in f) or not any("a" in f for f in resumed)
    assert "Closing words after everything" in streamed
    assert streamed == reloaded_html(page)


def test_a_stopped_answer_ends_in_the_reloaded_dom(page: Any, live_site: LiveSite) -> None:
    frames = start(page, live_site, "stopped")
    page.wait_for_function(f"() => [...document.querySelectorAll('{OUTPUT}')].pop()?.textContent.length > 100")
    page.locator("[data-streamui=stop]").click()
    page.wait_for_selector("[data-streamui=status][data-state=stopped]")
    page.wait_for_timeout(300)
    assert_compact_turn_and_status(frames, "stopped")
    assert page.evaluate(STATUS)[::2] == ["stopped", "Stopped"]
    assert page.locator(".streamui-mark").last.get_attribute("data-status") == "stopped"
    assert page.locator(".streamui-mark").last.text_content() == "stopped"
    shell, streamed = str(page.evaluate(SHELL_HTML)), str(page.evaluate(OUTPUT_HTML))
    reloaded_log(page)
    assert shell == str(page.evaluate(SHELL_HTML))
    # And the answer itself: what a stop dropped off the stored text (a bare list marker) left the page too.
    assert streamed == str(page.evaluate(OUTPUT_HTML))


def test_an_interrupted_answer_shows_retry_and_ends_in_the_reloaded_dom(page: Any, live_site: LiveSite) -> None:
    frames: list[dict[str, Any]] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(parse_frame(p))))
    fresh_chat(page, live_site, "custom")
    page.select_option("[data-streamui=strategy]", "adaptive")
    send_prompt(page, "A compact <b>flaky</b> & interrupted one")
    page.wait_for_selector("[data-streamui=status][data-state=interrupted]")
    assert_compact_turn_and_status(frames, "interrupted")
    assert page.evaluate(STATUS)[::2] == ["interrupted", "Interrupted"]
    assert page.locator(".streamui-mark").last.get_attribute("data-status") == "interrupted"
    # The prompt went in as text: it shows as typed, no element made of it.
    assert page.locator(".streamui-user").last.text_content() == "A compact <b>flaky</b> & interrupted one"
    assert page.locator(".streamui-user b").count() == 0
    error = page.locator("[data-streamui=error]")
    assert "went away" in error.text_content()
    assert error.locator("[data-streamui=retry]").get_attribute("data-prompt") == "A compact <b>flaky</b> & interrupted one"
    error.locator("[data-streamui=retry]").click()
    page.wait_for_selector("[data-streamui=status][data-state=done]")
    assert page.locator(".streamui-user").count() == 2
    assert page.locator("[data-streamui=error]").inner_html() == ""  # the next send cleared the error
    assert not page.locator("[data-streamui=error]").get_attribute("data-humanized")
    done = str(page.evaluate(LOG_HTML))
    assert done == reloaded_log(page)  # the interrupted turn and the retried one
