"""The widget works under a strict Content-Security-Policy, in real Chromium.

demo/middleware.py sends `script-src 'self'; style-src 'self'; connect-src 'self'; ...`
(no 'unsafe-inline', no 'unsafe-eval'). Every page records each `securitypolicyviolation`
event and each console error that names the policy; the features must work (text
streams, the status reaches done, the "revised" mark opens) with none recorded.
"""

from __future__ import annotations

from typing import Any

import pytest

from demo.middleware import CONTENT_SECURITY_POLICY

from .conftest import LiveSite

pytestmark = pytest.mark.browser

OUTPUT = "[data-streamui=output]"

# Registered before any script of the page runs, in every document the page loads; the stream ends too.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  const where = e.sourceFile + ':' + e.lineNumber;
  window.__cspViolations.push([e.violatedDirective, e.blockedURI, where, e.sample].join(' | '));
});
window.__streamEnds = [];
document.addEventListener('streamui:stream-end', (e) => window.__streamEnds.push(e.detail));
"""


class Watch:
    """Every CSP violation a page reports, from its DOM events and its console."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def violations(self) -> list[str]:
        return [*self.page.evaluate("() => window.__cspViolations || []"), *self.console]


def open_page(page: Any, url: str) -> None:
    page.set_default_timeout(15_000)  # a failure here is a blocked request: say so soon
    response = page.goto(url)
    assert response is not None and response.ok
    # The policy the page ran under is the strict one: no 'unsafe-inline', no 'unsafe-eval'.
    assert response.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def new_conversation(page: Any) -> None:
    page.locator("[data-streamui=new]").click()
    page.wait_for_function(f"() => document.querySelectorAll('{OUTPUT}').length === 0")


def ask(page: Any, prompt: str, **selects: str) -> str:
    """Send a prompt with these pickers and wait for its answer to be done; its text."""
    ended = page.evaluate("() => window.__streamEnds.length")
    for hook, value in selects.items():
        page.select_option(f"[data-streamui={hook}]", value)
    page.locator("[data-streamui=prompt]").fill(prompt)
    page.locator("[data-streamui=send]").click()
    # streamui.js says when a stream it followed ends, with when each fragment landed in the DOM.
    page.wait_for_function(f"() => window.__streamEnds.length > {ended}", timeout=30_000)
    end = page.evaluate("() => window.__streamEnds[window.__streamEnds.length - 1]")
    assert end["state"] == "done", end
    assert len(end["marks"]) >= 5  # it streamed: fragment after fragment, not one swap at the end
    page.wait_for_selector("[data-streamui=status][data-state=done]")
    assert page.locator(".streamui-mark").last.get_attribute("data-status") == "complete"
    text = page.locator(OUTPUT).last.text_content() or ""
    assert len(text) > 40
    return text


def test_websocket_transport_and_corrections_under_the_policy(page: Any, fast_site: LiveSite) -> None:
    watch = Watch(page)
    open_page(page, fast_site.url + "/?transport=websocket")
    # The socket opened under `connect-src 'self'`: Send is enabled only once it has.
    page.wait_for_selector("[data-streamui=widget][data-ws-opened][data-connected]")
    # htmx's indicator CSS went in as a constructed stylesheet, which CSP does not govern: in place,
    # not silently dropped (htmx.config.includeIndicatorCSS can stay on).
    assert page.evaluate(
        "() => [...document.adoptedStyleSheets].some("
        "s => [...s.cssRules].some(r => r.selectorText === '.htmx-indicator'))"
    )
    new_conversation(page)
    ask(page, "Why is the sky blue?", upstream="simulated:steady")
    # A model that corrects itself, with the "replace" policy: the revised phrase is marked,
    # and clicking the mark shows the original wording (streamui.js, no inline handler).
    new_conversation(page)
    ask(page, "Can a minor sue or be sued?", upstream="simulated:corrections", policy="replace")
    mark = page.locator(".streamui-revised-mark").first
    original = page.locator(".streamui-revised-original").first
    assert not original.is_visible()
    mark.click()
    assert original.is_visible() and mark.get_attribute("aria-expanded") == "true"
    assert watch.violations() == []


def test_sse_transport_under_the_policy(page: Any, fast_site: LiveSite) -> None:
    watch = Watch(page)
    open_page(page, fast_site.url + "/?transport=sse")
    page.wait_for_selector("[data-streamui=widget][data-transport=sse][data-connected]")
    new_conversation(page)  # an hx-post with the CSRF token, under `form-action 'self'`
    ask(page, "What is the capital of France?", upstream="simulated:steady")
    assert watch.violations() == []


def test_dashboard_under_the_policy(page: Any, fast_site: LiveSite) -> None:
    watch = Watch(page)
    open_page(page, fast_site.url + "/streamui/dashboard/")
    page.wait_for_selector("table[data-streamui=arms]")
    # The plots are inline SVG: allowed, they are markup, not script or style.
    assert page.locator("svg").count() >= 1
    assert watch.violations() == []


def test_the_policy_is_enforced_not_decorative(page: Any, fast_site: LiveSite) -> None:
    """The recorder catches what the policy forbids: an inline script added to the page is
    blocked (it never runs) and reported, so the empty lists above mean something."""
    watch = Watch(page)
    open_page(page, fast_site.url + "/")
    page.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.__inlineRan = true';
        document.body.append(s);
        const d = document.createElement('div');
        d.setAttribute('style', 'color: red');
        document.body.append(d);
    }""")
    page.wait_for_function("() => window.__cspViolations.length >= 2")
    assert page.evaluate("() => window.__inlineRan") is None
    directives = " ".join(watch.violations())
    assert "script-src" in directives and "style-src" in directives
