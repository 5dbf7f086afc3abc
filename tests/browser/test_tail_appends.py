"""The open markdown tail grows by appends in real Chromium (htmx 4's `beforeend:<selector>` OOB swap)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from .conftest import LiveSite
from .test_pipeline import run_prompt, wait_done

pytestmark = pytest.mark.browser

# The open tail's text at every painted frame.
TAIL_SAMPLER = """
() => {
  window.__tails = [];
  const sample = () => {
    const tails = document.querySelectorAll('[data-streamui=output] [id$="-tail"]');
    const tail = tails[tails.length - 1];
    if (tail) {
      const text = tail.textContent;
      if (!window.__tails.length || window.__tails[window.__tails.length - 1] !== text) window.__tails.push(text);
    }
    window.__tailSampler = requestAnimationFrame(sample);
  };
  sample();
}
"""


def test_the_tail_grows_by_appends_and_the_page_matches_the_answer(page: Any, live_site: LiveSite) -> None:
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    run_prompt(page, live_site, upstream="simulated:steady", prompt="Why is the sky blue?", strategy="adaptive")
    page.wait_for_selector("[data-streamui=output]")
    page.evaluate(TAIL_SAMPLER)
    wait_done(page)
    page.wait_for_timeout(100)
    tails: list[str] = page.evaluate("() => { cancelAnimationFrame(window.__tailSampler); return window.__tails; }")
    # An append into the tail: htmx's `beforeend:<selector>`, or a compact text append (streamui.wire).
    appends = [f for f in frames if 'hx-swap-oob=\\"beforeend:#' in f or '"a":' in f]
    assert len(appends) > 3, "the server sent no appends into the open tail"
    # The appends landed: the tail's text grew through them, far past what a replace had left.
    tails = [t.rstrip() for t in tails]  # the newline after the paragraph stays last
    grown = [b for a, b in pairwise(tails) if b.startswith(a) and len(b) > len(a)]
    assert len(grown) > 3 and max(len(t) for t in tails) > 80
    shown = "".join(page.locator("[data-streamui=output]").last.inner_text().split())
    assert len(shown) > 200
