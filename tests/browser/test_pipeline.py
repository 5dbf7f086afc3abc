"""What users see of the commit stage, the JSON widgets and the A/B switch, in real Chromium."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from .conftest import LiveSite
from .test_chat import fresh_chat

pytestmark = pytest.mark.browser

# Samples the answer's text at every painted frame: what a person could have seen.
SAMPLER = """
() => {
  window.__samples = [];
  const sample = () => {
    const outs = document.querySelectorAll('[data-streamui=output]');
    const out = outs[outs.length - 1];
    if (out) {
      const text = out.textContent;
      if (!window.__samples.length || window.__samples[window.__samples.length - 1] !== text) window.__samples.push(text);
    }
    window.__sampler = requestAnimationFrame(sample);
  };
  sample();
}
"""


def run_prompt(page: Any, site: LiveSite, *, upstream: str, prompt: str, **selects: str) -> None:
    fresh_chat(page, site, upstream)
    for hook, value in selects.items():
        page.select_option(f"[data-streamui={hook}]", value)
    page.locator("[data-streamui=prompt]").fill(prompt)
    page.locator("[data-streamui=send]").click()


def wait_done(page: Any) -> None:
    page.wait_for_selector("[data-streamui=status][data-state=done]", timeout=90_000)


@pytest.mark.parametrize(("profile", "policy"), [("speculative", "replace"), ("corrections", "replace"),
                                                 ("corrections", "annotate")])
def test_the_dom_never_loses_a_character_it_showed(page: Any, live_site: LiveSite, profile: str, policy: str) -> None:
    run_prompt(page, live_site, upstream=f"simulated:{profile}", prompt="Can a minor sue or be sued?", policy=policy)
    page.wait_for_selector("[data-streamui=output]")
    page.evaluate(SAMPLER)
    wait_done(page)
    page.wait_for_timeout(100)
    samples: list[str] = page.evaluate("() => { cancelAnimationFrame(window.__sampler); return window.__samples; }")
    assert len(samples) > 10
    # Markup between blocks adds whitespace that moves as blocks close; characters are what a reader sees.
    visible = ["".join(sample.split()) for sample in samples]
    for before, after in itertools.pairwise(visible):
        assert after.startswith(before), f"text shown was taken back:\n{before[-80:]!r}\n{after[-80:]!r}"
    html = page.locator("[data-streamui=output]").last.inner_html()
    if profile == "corrections":
        if policy == "replace":
            assert page.locator(".streamui-revised-mark").count() > 0
            original = page.locator(".streamui-revised-original").first
            assert not original.is_visible()
            page.locator(".streamui-revised-mark").first.click()
            assert original.is_visible()  # nothing hidden from a user who asks
        else:
            assert page.locator(".streamui-struck").count() > 0
    assert "<script" not in html


def test_confidence_is_visible_before_the_answer_finishes(page: Any, live_site: LiveSite) -> None:
    run_prompt(page, live_site, upstream="simulated:steady", prompt="Can a minor sue or be sued?", **{"output-mode": "json"})
    confidence = page.locator("[id$='-json--confidence']")
    confidence.wait_for(state="visible", timeout=30_000)
    answer = page.locator("[id$='-json--answer']")
    early = answer.text_content() if answer.count() else ""
    assert page.locator("[data-streamui=status]").get_attribute("data-state") == "streaming"
    wait_done(page)
    final = answer.text_content()
    assert len(final) > len(early) + 50  # the long answer was still streaming when confidence showed
    assert float(confidence.locator("meter").get_attribute("value")) > 0  # a meter, with its percentage beside it
    assert confidence.text_content().strip().endswith("%")


def test_ab_switch_changes_the_strategy_and_the_dashboard_shows_both_arms(page: Any, live_site: LiveSite) -> None:
    for strategy in ("passthrough", "adaptive"):
        run_prompt(page, live_site, upstream="simulated:bursty", prompt="What is the capital of France?",
                   strategy=strategy)
        wait_done(page)
        assert page.locator("[data-figure=strategy]").text_content() == strategy
        rows = live_site.query("select strategy, arm from streamui_streamrecord order by id desc limit 1")
        assert rows[0] == (strategy, f"forced:{strategy}")
    page.goto(live_site.url + "/streamui/dashboard/")
    for arm in ("passthrough", "adaptive"):
        row = page.locator(f"[data-streamui=forced] tr[data-arm={arm}]")  # picked by hand: not a randomised arm
        assert row.count() == 1 and int(row.locator("td").first.text_content()) >= 1
    assert page.locator("svg[aria-label='Reveal gap histogram per arm'] rect").count() > 2


def test_side_by_side_shows_both_strategies(page: Any, live_site: LiveSite) -> None:
    run_prompt(page, live_site, upstream="simulated:bursty", prompt="Why is the sky blue?",
               strategy="passthrough", compare="adaptive")
    wait_done(page)
    lanes = page.locator(".streamui-assistant").last.locator(".streamui-lane")
    assert lanes.count() == 2
    assert [lanes.nth(i).get_attribute("data-strategy") for i in range(2)] == ["passthrough", "adaptive"]
    texts = [" ".join(lanes.nth(i).locator("[data-streamui=output]").text_content().split()) for i in range(2)]
    assert texts[0] == texts[1] and texts[0]
