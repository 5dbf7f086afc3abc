"""What a person sees and can reach: the page follows the answer, Stop is on screen, figures are honest,
the pickers remember, the widgets look designed, and axe-core finds nothing serious. Real Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import LiveSite
from .test_chat import OUTPUT, fresh_chat, send_prompt

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
LONG = "Can a minor sue or be sued?"  # a long corpus answer: it streams for a few seconds


@pytest.fixture
def sized(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page at the viewport the test is parametrized with (WxH), its JavaScript errors fatal."""
    width, height = (int(n) for n in request.param.split("x"))
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=width < 500)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, errors


def wait_streaming_text(page: Any, chars: int) -> None:
    page.wait_for_function(
        f"() => document.querySelector('[data-streamui=status]').dataset.state === 'streaming' && "
        f"[...document.querySelectorAll('{OUTPUT}')].pop()?.textContent.length > {chars}")


def stop_is_on_screen(page: Any) -> bool:
    return bool(page.evaluate("""() => {
      const r = document.querySelector('[data-streamui=stop]').getBoundingClientRect();
      return r.width > 0 && r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth;
    }"""))


def newest_text_gap(page: Any) -> float:
    """How far the end of the conversation sits below the top of the sticky dock (<= 0: on screen)."""
    return float(page.evaluate("""() => document.querySelector('[data-streamui=log]').getBoundingClientRect().bottom
      - document.querySelector('[data-streamui=dock]').getBoundingClientRect().top"""))


@pytest.mark.parametrize("sized", ["390x844", "1280x720", "640x360"], indirect=True)
def test_the_page_follows_the_answer_and_stop_stays_reachable(sized: Any, live_site: LiveSite) -> None:
    page = sized
    fresh_chat(page, live_site, "simulated:steady")
    phone = page.viewport_size["width"] < 500
    if phone:  # two lanes on a phone: they stack instead of two thin columns
        page.select_option("[data-streamui=compare]", "passthrough")
        page.locator("[data-streamui=settings] > summary").click()  # fold the settings again
    stop = page.locator("[data-streamui=stop]")
    for turn in range(1, 11):
        send_prompt(page, LONG)
        wait_streaming_text(page, 150)
        assert stop_is_on_screen(page), f"Stop off screen on answer {turn}"
        if turn < 10:
            stop.click()  # a tap: no Escape key on a phone
            page.wait_for_selector("[data-streamui=status][data-state=stopped]")
    # The tenth answer: its newest text is on screen, just above the dock.
    page.wait_for_timeout(300)
    if phone:
        boxes = [lane.bounding_box() for lane in page.locator(".streamui-assistant").last.locator(".streamui-lane").all()]
        assert len(boxes) == 2 and boxes[0]["x"] == boxes[1]["x"] and boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"]
        assert boxes[0]["width"] > 300
    assert newest_text_gap(page) <= 12
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")  # no sideways scrolling (200% zoom too)
    # The user scrolls up to read: the page stays put, and "Jump to latest" appears.
    page.mouse.wheel(0, -900)
    page.wait_for_timeout(250)
    jump = page.locator("[data-streamui=jump]")
    held = page.evaluate("scrollY")
    page.wait_for_timeout(500)
    if page.locator("[data-streamui=status][data-state=streaming]").count():
        assert page.evaluate("scrollY") == held
        assert jump.is_visible()
        jump.click()
        page.wait_for_timeout(150)
        assert newest_text_gap(page) <= 12
        assert stop_is_on_screen(page)
        stop.click()
        page.wait_for_selector("[data-streamui=status][data-state=stopped]")


def test_figures_reset_explain_themselves_and_the_reasoning_timer_stops(page: Any, live_site: LiveSite) -> None:
    fresh_chat(page, live_site, "simulated:steady")
    send_prompt(page, "What is the capital of France?")
    page.wait_for_selector("[data-streamui=status][data-state=done]", timeout=30_000)
    assert page.locator("[data-figure=ttft]").text_content() != "–"
    assert "first thing shown" in (page.locator("[data-figure=ttft] >> xpath=..").get_attribute("title") or "")
    page.select_option("[data-streamui=upstream]", "simulated:reasoning")
    send_prompt(page, "Why is the sky blue?")
    page.wait_for_selector("[data-streamui=status][data-state=streaming]")
    assert page.locator("[data-figure=ttft]").text_content() == "–"  # not the previous answer's numbers
    for key in ("shown", "generated"):
        assert page.locator(f"[data-figure={key}]").text_content() in ("–", "0")
    summary = page.locator(".streamui-thinking summary").last
    summary.wait_for()
    page.wait_for_function("() => [...document.querySelectorAll('.streamui-reasoning')].pop()?.textContent.length > 30")
    summary.click()  # expand: the first reasoning token is there
    assert page.locator(".streamui-reasoning").last.text_content().startswith("Let me restate")
    page.keyboard.press("Escape")
    page.wait_for_selector("[data-streamui=status][data-state=stopped]")
    page.wait_for_timeout(100)
    said = summary.text_content()
    assert said.startswith("Thought for ") and said.endswith(" s (stopped)"), said
    page.wait_for_timeout(600)
    assert page.locator(".streamui-thinking summary").last.text_content() == said  # the timer stopped
    assert page.locator("[data-figure=ttft]").text_content() == "–"  # stopped before any answer text
    page.reload()
    page.wait_for_selector("[data-streamui=widget][data-connected]")
    after = page.locator(".streamui-thinking summary").last.text_content()
    assert after.startswith("Thought for ") and after.endswith(" s (stopped)"), after


def test_pickers_remember_json_switches_output_and_widgets_look_designed(page: Any, live_site: LiveSite) -> None:
    fresh_chat(page, live_site, "simulated:json")
    assert page.locator("[data-streamui=output-mode]").input_value() == "json"  # the json profile speaks JSON
    assert page.locator("[data-streamui=strategy]").is_disabled()  # widgets are not smoothed
    assert page.locator("[data-streamui=compare]").is_disabled()
    note = page.locator("[data-streamui=simulated-note]")
    assert note.is_visible() and "make run-local" in note.text_content()
    page.reload()
    page.wait_for_selector("[data-streamui=widget][data-connected]")
    assert page.locator("[data-streamui=upstream]").input_value() == "simulated:json"  # kept across the reload
    assert page.locator("[data-streamui=output-mode]").input_value() == "json"
    assert "simulated, json" in page.locator("[data-streamui=settings-summary]").text_content()
    send_prompt(page, LONG)
    page.wait_for_selector("[data-streamui=status][data-state=done]", timeout=30_000)
    answer = page.locator(".streamui-assistant").last
    labels = [t.strip() for t in answer.locator("dt").all_text_contents()]
    assert labels.count("Answer") == 1, labels
    assert answer.locator("meter").count() == 1
    assert answer.locator("a.su-source").count() >= 1
    assert answer.locator(".su-w-bool").text_content() in ("✓ Yes", "✗ No")
    assert answer.locator(".su-w-md strong").count() >= 1  # the answer string rendered as markdown
    # Leaving the json profile switches Output back; a prose model in JSON mode is said to be one.
    page.select_option("[data-streamui=upstream]", "simulated:steady")
    assert page.locator("[data-streamui=output-mode]").input_value() == "text"
    page.select_option("[data-streamui=upstream]", "openai")  # the fake LLM over HTTP: it answers in prose
    page.select_option("[data-streamui=output-mode]", "json")
    send_prompt(page, "What is the capital of France?")
    page.wait_for_selector("[data-streamui=status][data-state=done]", timeout=30_000)
    error = page.locator(".su-json-error").last
    assert "This model did not send JSON" in error.text_content()
    assert error.locator("details[open] pre").text_content().strip()


def test_the_stall_control_stalls_the_next_answer_beside_passthrough(page: Any, live_site: LiveSite) -> None:
    fresh_chat(page, live_site, "simulated:stalls")
    control = page.locator("[data-streamui=stall-next]")
    assert control.is_visible()
    control.check()
    send_prompt(page, "Tell me about stalls")
    page.wait_for_selector("[data-streamui=status][data-state=done]", timeout=30_000)
    lanes = page.locator(".streamui-assistant").last.locator(".streamui-lane")
    assert [lanes.nth(i).get_attribute("data-strategy") for i in range(lanes.count())] == ["adaptive", "passthrough"]
    upstream, gaps = live_site.query("select upstream, arrival_gaps_ms from streamui_streamrecord order by id desc limit 1")[0]
    assert upstream == "simulated:stall-now"
    assert max(json.loads(str(gaps))) > 2500 / 3 * 0.9  # the 2.5 s freeze (the test site runs at 3x speed)
    assert page.locator("[data-streamui=upstream]").input_value() == "simulated:stalls"  # one answer only
    assert not control.is_checked()


def test_revised_mark_and_tool_card(page: Any, live_site: LiveSite) -> None:
    fresh_chat(page, live_site, "simulated:corrections")
    page.select_option("[data-streamui=policy]", "replace")
    send_prompt(page, LONG)
    page.wait_for_selector("[data-streamui=status][data-state=done]", timeout=30_000)
    mark = page.locator(".streamui-revised-mark").first
    mark.scroll_into_view_if_needed()
    box = mark.bounding_box()
    # The whole 44 x 44 px square around its centre taps the mark (its hit area is larger than the pill).
    hits = page.evaluate("""([x, y]) => [[-21, -21], [21, -21], [-21, 21], [21, 21], [0, 0]].map(([dx, dy]) => {
        const el = document.elementFromPoint(x + dx, y + dy); return !!(el && el.closest('.streamui-revised-mark')); })""",
                         [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert all(hits), hits
    mark.click()
    original = page.locator(".streamui-revised-original").first
    assert original.is_visible()
    assert original.evaluate("el => parseFloat(getComputedStyle(el).marginRight)") > 0  # not jammed against the next word
    page.select_option("[data-streamui=upstream]", "simulated:tools")
    send_prompt(page, "What is the capital of France?")
    state = page.locator(".su-toolcall-state").last
    state.wait_for()
    page.wait_for_selector("[data-streamui=status][data-state=done]", timeout=30_000)
    assert state.get_attribute("data-state") == "done" and state.text_content() == "done"
    # The tool card was the first thing shown: it counts as the first visible token, before any answer text.
    first_text, first_visible = live_site.query(
        "select first_upstream_token_ms, first_visible_token_ms from streamui_streamrecord order by id desc limit 1")[0]
    assert first_visible < first_text, (first_visible, first_text)  # type: ignore[operator]


def axe_violations(page: Any) -> list[dict[str, Any]]:
    page.evaluate(AXE + "\n;0")  # through the devtools protocol: the site's CSP forbids inline scripts
    result = page.evaluate("""async () => { const r = await axe.run(document, {resultTypes: ['violations']});
      return {passes: r.passes.length, rules: r.passes.map(p => p.id), violations: r.violations.map(v =>
        ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target)}))}; }""")
    assert result["passes"] > 10 and "color-contrast" in result["rules"] + [v["id"] for v in result["violations"]]
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_serious(page: Any, live_site: LiveSite, scheme: str) -> None:
    page.emulate_media(color_scheme=scheme)
    fresh_chat(page, live_site, "simulated:json")
    send_prompt(page, LONG)
    page.wait_for_selector("[data-streamui=status][data-state=done]", timeout=30_000)
    page.select_option("[data-streamui=upstream]", "simulated:tools")
    send_prompt(page, "Why is the sky blue?")
    page.wait_for_selector("[data-streamui=status][data-state=done]", timeout=30_000)
    page.locator(".streamui-figures-help summary").click()
    assert axe_violations(page) == []
    for path in ("/jinja/", "/streamui/dashboard/"):
        page.goto(live_site.url + path)
        assert axe_violations(page) == [], path


def test_keyboard_order_and_labels(page: Any, live_site: LiveSite) -> None:
    page.goto(live_site.url + "/")
    page.wait_for_selector("[data-streamui=widget][data-connected]")
    order = []
    page.locator("[data-streamui=settings] > summary").focus()
    for _ in range(8):
        order.append(page.evaluate("document.activeElement.dataset.streamui || document.activeElement.tagName"))
        page.keyboard.press("Tab")
    # The settings first (above the conversation), then the composer: type, send, start over.
    assert order == ["SUMMARY", "upstream", "output-mode", "strategy", "compare", "policy", "prompt", "send"], order
    assert page.evaluate("document.activeElement.dataset.streamui") == "new"
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('select, textarea, button, input:not([type=hidden])')]
      .filter(el => !(el.labels?.length || el.getAttribute('aria-label') || el.textContent.trim())).map(el => el.outerHTML)""")
    assert unlabelled == []
    assert page.locator("[data-streamui=log]").get_attribute("aria-live") == "off"  # tokens are not read one by one


def test_an_upstream_error_reads_as_a_sentence_with_the_detail_one_click_away(page: Any, live_site: LiveSite) -> None:
    page.goto(live_site.url + "/")
    page.wait_for_selector("[data-streamui=widget][data-connected]")
    raw = ("The answer was interrupted: the connection to the model server was lost (peer closed connection "
           "without sending complete message body (incomplete chunked read))")
    # What the server sends on a dropped upstream, as the transport would swap it in, then a frame lands.
    page.evaluate("""raw => { const box = document.querySelector('[data-streamui=error]');
      box.innerHTML = ''; box.append(raw); const b = document.createElement('button');
      b.dataset.streamui = 'retry'; b.textContent = 'Retry'; box.append(' ', b);
      box.closest('[data-streamui=widget]').dispatchEvent(new CustomEvent('htmx:sse:after:message', {bubbles: true})); }""", raw)
    error = page.locator("[data-streamui=error]")
    assert error.locator(".streamui-error-text").text_content() == (
        "The answer was interrupted. The model server closed the connection before the answer finished.")
    detail = error.locator("details")
    assert not detail.locator("code").is_visible()
    detail.locator("summary").click()
    assert "incomplete chunked read" in detail.locator("code").text_content()
    assert error.locator("[data-streamui=retry]").is_visible()
