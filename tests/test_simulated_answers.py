"""The simulated model answers about the question when it can, says so when it cannot, and avoids hard topics."""

from __future__ import annotations

import itertools
import re

from streamui.testing.profiles import STALL_SECONDS, build_trace
from streamui.testing.simulated import CANNED_LABEL, answer_corpus, demo_corpus, pick_answer
from streamui.upstream.events import TextDelta

HARD = re.compile(r"suicid|\bdeath|\bdying\b|\bkill|murder|genocide|self-harm", re.IGNORECASE)


def test_an_exact_corpus_prompt_gets_its_own_answer() -> None:
    item = answer_corpus()[0]
    assert pick_answer(item.prompt) == item


def test_a_question_about_a_corpus_topic_gets_that_answer() -> None:
    assert pick_answer("Tell me about minors suing").prompt == "Can a minor sue or be sued?"
    assert pick_answer("how do lightsabers work? light sabers").prompt == "How do light sabers work?"
    assert "semiconductor" in pick_answer("What is a semiconductor?").prompt


def test_anything_else_gets_a_stand_in_that_says_it_is_canned() -> None:
    for prompt in ("What is a jitter buffer?", "How does TCP work?", "How do vaccines work?", "Tell me a story"):
        answer = pick_answer(prompt)
        assert answer.answer.startswith(CANNED_LABEL.split("\u201c")[0]), prompt
        assert answer.prompt in answer.answer.split("\n\n", 1)[0]  # it names the question it really answers
        assert not HARD.search(answer.answer) and "launder" not in answer.prompt.lower()
        assert pick_answer(prompt) == answer  # the same prompt, the same answer


def test_no_hard_topic_is_ever_picked_for_a_prompt_not_in_the_corpus() -> None:
    assert all(not HARD.search(f"{item.prompt} {item.answer}") for item in demo_corpus())
    assert len(demo_corpus()) > 100
    picked = {pick_answer(f"question number {n}").prompt for n in range(400)}
    assert picked and not any(HARD.search(p) for p in picked)


def test_stall_now_always_freezes_once() -> None:
    for seed in range(20):
        events = build_trace("stall-now", pick_answer("Tell me about stalls").answer, seed=seed).events
        times = [e.t for e in events if isinstance(e.event, TextDelta)]
        assert max(b - a for a, b in itertools.pairwise(times)) >= STALL_SECONDS
