"""The widget in real headless Chromium, against Daphne and the fake LLM over HTTP."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest

from .conftest import LiveSite

pytestmark = pytest.mark.browser

OUTPUT = "[data-streamui=output]"


def last_output(page: Any) -> Any:
    return page.locator(OUTPUT).last


def fake_records(site: LiveSite) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{site.fake.base_url.removesuffix('/v1')}/_fake/requests") as resp:
        return json.loads(resp.read())


def send_prompt(page: Any, text: str) -> None:
    prompt = page.locator("[data-streamui=prompt]")
    prompt.fill(text)
    prompt.press("Enter")


def wait_connected(page: Any) -> None:
    page.wait_for_selector("[data-streamui=widget][data-connected]")


def fresh_chat(page: Any, site: LiveSite, upstream: str, path: str = "/") -> None:
    """The playground with a new, empty conversation on `upstream`."""
    page.goto(site.url + path)
    wait_connected(page)
    page.locator("[data-streamui=new]").click()
    page.wait_for_function("() => document.querySelectorAll('[data-streamui=output]').length === 0")
    open_settings(page)
    page.select_option("[data-streamui=upstream]", upstream)


def open_settings(page: Any) -> None:
    """The pickers fold into one line on a phone: unfold them."""
    if not page.locator("[data-streamui=upstream]").is_visible():
        page.locator("[data-streamui=settings] > summary").click()


def test_type_send_watch_it_grow_then_stop(page: Any, live_site: LiveSite) -> None:
    page.goto(live_site.url + "/")
    wait_connected(page)
    stop = page.locator("[data-streamui=stop]")
    assert not stop.is_visible()  # Stop is shown only while streaming
    before = len(fake_records(live_site))
    send_prompt(page, "Can a minor sue or be sued?")
    page.wait_for_function(f"() => document.querySelectorAll('{OUTPUT}').length && "
                           f"[...document.querySelectorAll('{OUTPUT}')].pop().textContent.length > 20")
    first = len(last_output(page).text_content())
    page.wait_for_timeout(300)
    assert len(last_output(page).text_content()) > first  # the text grows
    assert stop.is_visible()
    assert page.locator("[data-streamui=prompt]").input_value() == ""

    stop.click()
    page.wait_for_selector("[data-streamui=status][data-state=stopped]")
    stopped_text = last_output(page).text_content()
    page.wait_for_timeout(700)
    assert last_output(page).text_content() == stopped_text  # nothing more arrives
    assert not stop.is_visible()
    assert page.locator(".streamui-mark[data-status=stopped]").last.text_content() == "stopped"

    record = fake_records(live_site)[before]
    assert record["disconnected_at"] is not None, record
    assert record["tokens_after_disconnect"] <= 1, record
    assert record["outcome"] == "disconnected"
    rows = live_site.query("select stop_received_at, end_reason, tokens_generated, tokens_shown "
                           "from streamui_streamrecord order by id desc limit 1")
    stop_at, end_reason, generated, shown = rows[0]
    assert end_reason == "stopped"
    assert record["disconnected_at"] - float(stop_at) < 0.1  # type: ignore[arg-type]
    assert generated >= shown > 0  # type: ignore[operator]


def test_escape_stops_and_reload_shows_the_stopped_answer(page: Any, live_site: LiveSite) -> None:
    page.goto(live_site.url + "/")
    wait_connected(page)
    send_prompt(page, "What is the capital of France?")
    page.wait_for_function(f"() => [...document.querySelectorAll('{OUTPUT}')].pop()?.textContent.length > 10")
    page.keyboard.press("Escape")
    page.wait_for_selector("[data-streamui=status][data-state=stopped]")
    page.wait_for_timeout(200)
    shown = last_output(page).text_content()
    page.reload()
    wait_connected(page)
    # The conversation comes back, the stopped answer still marked as such.
    assert last_output(page).text_content() == shown
    assert page.locator(".streamui-mark").last.get_attribute("data-status") == "stopped"
    assert page.locator(".streamui-user").last.text_content() == "What is the capital of France?"


def test_a_full_answer_completes_with_live_figures(page: Any, live_site: LiveSite) -> None:
    fresh_chat(page, live_site, "simulated:steady")
    page.locator("[data-streamui=prompt]").fill("Why is the sky blue?")
    page.locator("[data-streamui=send]").click()
    page.wait_for_selector("[data-figure=ttft]")
    shown_then = len(last_output(page).text_content())
    page.wait_for_selector("[data-streamui=status][data-state=done]", timeout=60_000)
    assert len(last_output(page).text_content()) > shown_then + 200  # the figures were live, not sent at the end
    assert page.locator(".streamui-mark").last.get_attribute("data-status") == "complete"
    assert page.locator("[data-figure=shown]").text_content() != "0"
    assert "ms" in page.locator("[data-figure=ttft]").text_content()
    # The widget reported when each fragment landed in the DOM.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rows = live_site.query("select client_timings from streamui_streamrecord order by id desc limit 1")
        if rows and json.loads(str(rows[0][0])).get("marks"):
            break
        time.sleep(0.1)
    marks = json.loads(str(rows[0][0]))["marks"]
    assert len(marks) > 10 and marks == sorted(marks)


def test_empty_prompt_gets_an_inline_error(page: Any, live_site: LiveSite) -> None:
    page.goto(live_site.url + "/")
    wait_connected(page)
    page.locator("[data-streamui=prompt]").fill("   ")
    page.locator("[data-streamui=send]").click()
    error = page.locator("[data-streamui=error]")
    error.wait_for(state="visible")
    assert "Type a message first" in error.text_content()


def test_model_text_cannot_inject_markup(page: Any, live_site: LiveSite) -> None:
    page.goto(live_site.url + "/")
    wait_connected(page)
    send_prompt(page, "<img src=x onerror=\"document.body.dataset.pwned=1\"><script>document.body.dataset.pwned=1</script>")
    page.wait_for_selector(".streamui-user >> nth=-1")
    page.wait_for_timeout(300)
    assert page.evaluate("document.body.dataset.pwned") is None
    assert "<script>" in page.locator(".streamui-user").last.text_content()


def test_the_jinja2_page_renders_the_same_widget(page: Any, live_site: LiveSite) -> None:
    page.goto(live_site.url + "/jinja/")
    wait_connected(page)
    for hook in ("prompt", "send", "stop", "status"):
        assert page.locator(f"[data-streamui={hook}]").count() == 1


def test_a_refresh_mid_stream_resumes_where_it_was(page: Any, live_site: LiveSite) -> None:
    fresh_chat(page, live_site, "simulated:steady")
    send_prompt(page, "Can a minor sue or be sued?")
    page.wait_for_function(f"() => [...document.querySelectorAll('{OUTPUT}')].pop()?.textContent.length > 40")
    page.reload()
    wait_connected(page)
    # The answer picks up (replayed from the journal, then live) and finishes, not marked interrupted.
    page.wait_for_selector("[data-streamui=status][data-state=done]", timeout=60_000)
    assert page.locator(".streamui-mark").last.get_attribute("data-status") == "complete"
    shown = " ".join(last_output(page).text_content().split())
    page.reload()  # now rendered from the database
    wait_connected(page)
    stored = " ".join(last_output(page).text_content().split())
    assert shown == stored and len(stored) > 200


@pytest.mark.parametrize("how", ["sse", "no-websocket"])
def test_the_sse_transport_streams_stops_and_resumes(page: Any, live_site: LiveSite, how: str) -> None:
    if how == "no-websocket":
        page.add_init_script("delete window.WebSocket")  # a network where WebSockets do not exist
        page.goto(live_site.url + "/?transport=auto")
    else:
        page.goto(live_site.url + "/?transport=sse")
    page.wait_for_selector("[data-streamui=widget][data-transport=sse][data-connected]")
    page.locator("[data-streamui=new]").click()
    page.wait_for_function("() => document.querySelectorAll('[data-streamui=output]').length === 0")
    page.select_option("[data-streamui=upstream]", "simulated:steady")
    send_prompt(page, "Can a minor sue or be sued?")
    page.wait_for_function(f"() => [...document.querySelectorAll('{OUTPUT}')].pop()?.textContent.length > 40")
    first = len(last_output(page).text_content())
    page.wait_for_timeout(300)
    assert len(last_output(page).text_content()) > first
    page.locator("[data-streamui=stop]").click()
    page.wait_for_selector("[data-streamui=status][data-state=stopped]")
    stopped = last_output(page).text_content()
    page.wait_for_timeout(500)
    assert last_output(page).text_content() == stopped
    assert page.locator(".streamui-mark").last.get_attribute("data-status") == "stopped"


def test_a_failure_keeps_the_text_and_retry_is_a_new_stream(page: Any, live_site: LiveSite) -> None:
    fresh_chat(page, live_site, "custom")
    page.select_option("[data-streamui=strategy]", "passthrough")
    send_prompt(page, "Tell me something flaky")
    page.wait_for_selector("[data-streamui=status][data-state=interrupted]")
    assert "Here is the beginning" in last_output(page).text_content()  # the text so far is kept
    assert page.locator(".streamui-mark").last.get_attribute("data-status") == "interrupted"
    error = page.locator("[data-streamui=error]")
    assert "went away" in error.text_content()
    streams_before = live_site.query("select count(*) from streamui_streamrecord")[0][0]
    error.locator("[data-streamui=retry]").click()
    page.wait_for_selector("[data-streamui=status][data-state=done]")
    assert "in full" in last_output(page).text_content()
    assert page.locator(".streamui-user").count() == 2  # the retry is a new turn
    assert live_site.query("select count(*) from streamui_streamrecord")[0][0] == streams_before + 1  # type: ignore[operator]
    rows = live_site.query("select end_reason, error_kind from streamui_streamrecord order by id desc limit 2")
    assert rows == [("done", ""), ("error", "internal")]
