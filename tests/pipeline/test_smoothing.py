"""Smoothing strategies on the virtual clock: exact text, causality, pacing rules."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamui.pipeline.smoothing import (
    Arrival,
    Passthrough,
    Reveal,
    SmoothingStrategy,
    make_strategy,
    revealed_text,
    strategy_names,
)
from streamui.pipeline.strategies import Adaptive, AdaptiveConfig, FixedDelay, Throttle
from streamui.pipeline.strategies.words import WordQueue
from streamui.pipeline.virtual import simulate
from tools.bench.metrics import contract_violations, measure
from tools.bench.visible import ReplayUpstream

FRAME = 1 / 60
ALL = ["passthrough", "fixed", "throttle", "adaptive"]


def steady(text_words: int, *, start: float = 0.3, gap: float = 0.025, word: str = " word") -> list[Arrival]:
    return [Arrival(start + i * gap, word if i else "Hello") for i in range(text_words)]


def with_stall(before: int, stall: float, after: int, *, gap: float = 0.025) -> list[Arrival]:
    arrivals = steady(before, gap=gap)
    t = arrivals[-1].t + stall
    return arrivals + [Arrival(t + i * gap, f" after{i}") for i in range(after)]


def run(name: str, arrivals: list[Arrival], end_t: float | None = None) -> list[Arrival]:
    end = arrivals[-1].t + 0.001 if end_t is None else end_t
    return simulate(make_strategy(name), arrivals, end)


PATTERNS: dict[str, list[Arrival]] = {
    "steady": steady(120),
    "stall": with_stall(80, 2.5, 40),
    "one dump": [Arrival(0.5, "word " * 400)],
    "dump mid-stream": [*steady(30), Arrival(1.2, " burst" * 300), Arrival(1.3, " tail end")],
    "whitespace first": [Arrival(0.2, "\n\n"), Arrival(0.25, "  Hi"), Arrival(0.3, " there\n")],
    "no spaces (CJK)": [Arrival(0.1 + i * 0.02, "流式文本") for i in range(60)],
    "long url": [Arrival(0.1, "see https://example.org/" + "a" * 300), Arrival(0.2, " ok")],
    "ends mid-word": [Arrival(0.1, "Hello wor"), Arrival(0.2, "ld")],
    "same instant": [Arrival(0.1, "a "), Arrival(0.1, "b "), Arrival(0.1, "c")],
    "slow model": [Arrival(0.5 + i * 0.5, f" w{i}") for i in range(10)],
}


def test_registry_knows_every_builtin_strategy() -> None:
    assert strategy_names() == ALL
    assert isinstance(make_strategy("adaptive"), Adaptive)
    assert isinstance(make_strategy("fixed"), FixedDelay)
    assert isinstance(make_strategy("throttle"), Throttle)
    assert isinstance(make_strategy("passthrough"), Passthrough)
    assert make_strategy("adaptive") is not make_strategy("adaptive")  # one object per stream


def test_unknown_strategy_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="adaptive, fixed, passthrough, throttle"):
        make_strategy("smooth")


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_exact_text_causal_and_done(name: str, pattern: str) -> None:
    arrivals = PATTERNS[pattern]
    schedule = run(name, arrivals, arrivals[-1].t + 0.4)
    assert revealed_text(schedule) == "".join(a.text for a in arrivals)
    assert contract_violations(arrivals, schedule) == []
    assert all(r.text for r in schedule)


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_adaptive_frame_burst_and_first_token_rules(pattern: str) -> None:
    arrivals = PATTERNS[pattern]
    schedule = run("adaptive", arrivals)
    m = measure(arrivals, schedule)
    assert m.added_ttft == 0.0
    assert m.max_burst_chars <= 250
    assert m.max_reveals_per_second <= 60
    assert all(b.t - a.t >= FRAME - 1e-9 for a, b in pairwise(schedule))
    # 250 chars per 100 ms drains 1500 in 600 ms: a bigger dump takes what the cap allows.
    chars = sum(len(a.text) for a in arrivals)
    assert m.completion_delay < max(0.6, chars / 2500 * 1.1)


def test_adaptive_shows_the_first_token_at_once_even_mid_word() -> None:
    schedule = run("adaptive", [Arrival(0.7, "Hel"), Arrival(0.75, "lo there "), Arrival(0.8, "friend")])
    assert schedule[0] == Arrival(0.7, "Hel")


def test_adaptive_shows_only_the_first_word_of_a_big_first_arrival_at_once() -> None:
    # Behind a commit stage the first arrival is a whole phrase: its first word shows at
    # once, the rest is paced (it starts the cushion) instead of leaving nothing in reserve.
    arrivals = [Arrival(0.5, "\n\nHello there my good friend, how are you today? "), Arrival(1.5, "Fine.")]
    schedule = run("adaptive", arrivals)
    assert schedule[0] == Arrival(0.5, "\n\nHello ")
    assert revealed_text(r for r in schedule if r.t < 0.5 + FRAME) == "\n\nHello "
    assert len([r for r in schedule if r.t < 1.5]) >= 5  # spread out, a word or two a frame (30 frames/s)


def phrases(count: int, words: int, *, start: float = 0.1, gap: float = 1 / 30) -> tuple[list[Arrival], ...]:
    """Tokens of a word each, `gap` apart, and the phrases a commit stage would pass on:
    `words` tokens at a time, when the last of them arrives."""
    upstream = [Arrival(start + gap * i, f" w{i}") for i in range(count * words)]
    commits = []
    for k in range(count):
        phrase = upstream[k * words : (k + 1) * words]
        commits.append(Arrival(phrase[-1].t, "".join(a.text for a in phrase)))
    return upstream, commits


def test_adaptive_told_of_the_upstream_spreads_each_phrase_until_the_next() -> None:
    # Twelve words every 0.4 s. Counted on pushes, each phrase looks like a burst and goes
    # out a word per frame, then nothing; told of the upstream's pace (30 words a second)
    # the strategy reveals at that pace and a phrase lasts until the next one is due.
    upstream, commits = phrases(10, 12)
    end = commits[-1].t + 0.001
    told = simulate(ReplayUpstream(make_strategy("adaptive"), upstream), commits, end)
    alone = simulate(make_strategy("adaptive"), commits, end)
    assert revealed_text(told) == revealed_text(alone) == "".join(a.text for a in upstream)
    assert measure(upstream, alone).largest_gap > 0.19
    assert measure(upstream, told).largest_gap < 0.12
    assert told[0] == Arrival(commits[0].t, " w0 ")  # the first word at once


def test_adaptive_told_of_the_upstream_hides_a_freeze_behind_phrases() -> None:
    upstream, commits = phrases(8, 12)
    more_up, more = phrases(4, 12, start=upstream[-1].t + 2.5)
    upstream, commits = upstream + more_up, commits + more
    schedule = simulate(ReplayUpstream(make_strategy("adaptive"), upstream), commits, commits[-1].t + 0.001)
    m = measure(upstream, schedule)
    assert m.stall_time == 0.0
    assert m.largest_gap <= 0.2 + 1e-9


def test_adaptive_reveals_whole_words() -> None:
    arrivals = [
        Arrival(0.1 + i * 0.01, piece) for i, piece in enumerate(["Str", "eam", "ing ", "te", "xt "] * 40)
    ]
    schedule = run("adaptive", arrivals, arrivals[-1].t + 0.01)
    for reveal in schedule[1:]:
        assert reveal.text.endswith(" "), reveal


def test_adaptive_hides_a_two_second_stall_and_passthrough_does_not() -> None:
    arrivals = with_stall(120, 2.0, 40)
    assert measure(arrivals, run("passthrough", arrivals)).stall_time == pytest.approx(1.75, abs=1e-6)
    m = measure(arrivals, run("adaptive", arrivals))
    assert m.stall_time == 0.0
    assert m.largest_gap <= 0.2 + 1e-9


def test_adaptive_sizes_its_reserve_to_stalls_it_has_seen() -> None:
    arrivals = with_stall(120, 4.0, 120)
    tail = arrivals[-1].t
    arrivals += [Arrival(tail + 4.0 + i * 0.025, f" late{i}") for i in range(40)]
    schedule = run("adaptive", arrivals)
    second_stall_from = tail + 0.001
    gaps_after = [b.t - a.t for a, b in pairwise(schedule) if a.t >= second_stall_from]
    first = measure(arrivals[:240], run("adaptive", arrivals[:240]))
    # The first 4 s stall shows beyond what the prior reserve hides; the second,
    # after one like it was seen, is hidden entirely.
    assert first.stall_time > 1.0
    assert max(gaps_after) <= 0.2 + 1e-9


def test_adaptive_does_not_slow_a_slow_model() -> None:
    # Two words a second, below the floor pace: each word shows as soon as it is
    # known to be whole (the next token arrived, or 150 ms of silence), never later.
    arrivals = PATTERNS["slow model"]
    schedule = run("adaptive", arrivals)
    hold = AdaptiveConfig().tail_hold
    assert [r.text for r in schedule] == [a.text for a in arrivals]
    # The last word shows when the upstream ends, 1 ms after it arrived.
    assert [round(r.t - a.t, 6) for r, a in zip(schedule, arrivals, strict=True)] == [0.0] + [hold] * 8 + [
        0.001
    ]


def test_adaptive_catches_up_after_a_burst() -> None:
    arrivals = [*steady(40), Arrival(1.5, " burst" * 200), *steady(200, start=1.6)[1:]]
    schedule = run("adaptive", arrivals)
    revealed = 0
    pending_at: dict[float, int] = {}
    arrived = sum(len(a.text) for a in arrivals if a.t <= 1.5)
    for r in schedule:
        revealed += len(r.text)
        if r.t <= 1.5 + 1e-9:
            continue
        arrived_now = arrived + sum(len(a.text) for a in arrivals if 1.5 < a.t <= r.t)
        pending_at[r.t] = arrived_now - revealed
    backlog_soon = max(v for t, v in pending_at.items() if t < 1.6)
    backlog_later = max(v for t, v in pending_at.items() if 3.0 < t < 4.0)
    assert backlog_soon > 1000
    assert backlog_later < 200


def test_adaptive_shows_an_unfinished_word_after_a_silence() -> None:
    arrivals = [Arrival(0.1, "Hello "), Arrival(0.2, "wor"), Arrival(3.0, "ld and more")]
    schedule = run("adaptive", arrivals)
    shown_before = revealed_text(r for r in schedule if r.t < 1.0)
    assert shown_before == "Hello wor"


# The burst cap spread over the frames of its window: 250 per 100 ms is 84 characters a frame at 30 frames/s.
FRAME_CHARS = math.ceil(AdaptiveConfig().burst_chars * AdaptiveConfig().frame / AdaptiveConfig().burst_window)


def test_adaptive_cuts_words_longer_than_max_word() -> None:
    arrivals = [Arrival(0.1 + i * 0.01, "x" * 10) for i in range(60)] + [Arrival(1.0, " end")]
    schedule = run("adaptive", arrivals, 1.001)
    assert any(r.t < 0.8 for r in schedule[1:])
    assert all(len(r.text) <= FRAME_CHARS for r in schedule[1:])


def test_adaptive_drains_the_last_word_with_the_others() -> None:
    # After the end an unfinished last word is as final as any: it does not wait a frame.
    arrivals = [Arrival(0.0, "go"), Arrival(0.5, " word" * 60 + " end")]
    schedule = run("adaptive", arrivals)
    assert schedule[-1].text.endswith(" end") and schedule[-1].text != " end"
    assert all(len(r.text) <= FRAME_CHARS for r in schedule)


def test_adaptive_drains_within_the_completion_budget_when_the_end_comes() -> None:
    arrivals = steady(300)
    m = measure(arrivals, run("adaptive", arrivals))
    assert 0 < m.completion_delay < 0.3


def test_adaptive_config_is_respected() -> None:
    strategy = Adaptive(AdaptiveConfig(floor_gap=0.1, frame=1 / 30))
    schedule = simulate(strategy, with_stall(60, 1.0, 10), 10.0)
    assert all(b.t - a.t >= 1 / 30 - 1e-9 for a, b in pairwise(schedule))


def test_fixed_reveals_one_word_then_waits_ten_ms() -> None:
    arrivals = [Arrival(0.0, "one two three four five six")]
    schedule = run("fixed", arrivals)
    assert [r.text for r in schedule] == ["one ", "two ", "three ", "four ", "five ", "six"]
    assert [round(r.t, 6) for r in schedule[:5]] == [0.0, 0.01, 0.02, 0.03, 0.04]


def test_fixed_waits_for_the_whitespace_after_a_word() -> None:
    schedule = run("fixed", [Arrival(0.1, "Hel"), Arrival(0.2, "lo "), Arrival(0.3, "x")])
    assert schedule[0] == Arrival(0.2, "Hello ")


def test_throttle_holds_its_read_ahead_until_the_end() -> None:
    arrivals = [Arrival(0.1 + i * 0.01, "abcdefghij") for i in range(10)]
    schedule = run("throttle", arrivals, 5.0)
    before_end = revealed_text(r for r in schedule if r.t < 5.0)
    assert len(before_end) <= 100 - 15
    assert schedule[0].t >= 0.12  # waits for 24 characters before the first reveal


def test_word_queue_units() -> None:
    q = WordQueue(max_word=5)
    for piece in ["In", " gen", "eral, ", "minors", "\n\n", "- "]:
        q.push(piece)
    assert q.take(10, 1000) == ["In ", "general, ", "minor", "s\n", "\n- "]
    assert q.tail == ""


def test_simulate_stops_a_strategy_that_spins() -> None:
    class Spinner(SmoothingStrategy):
        name = "spinner"

        def push(self, text: str, now: float) -> None:
            pass

        def finish(self, now: float) -> None:
            pass

        def poll(self, now: float) -> Reveal:
            return Reveal("", now)

    with pytest.raises(RuntimeError, match="without revealing"):
        simulate(Spinner(), [Arrival(0.0, "x")], 1.0)


def test_simulate_stops_a_strategy_idle_but_not_done() -> None:
    class Sleeper(Passthrough):
        def poll(self, now: float) -> Reveal:
            return Reveal("", None)

    with pytest.raises(RuntimeError, match="idle but not done"):
        simulate(Sleeper(), [Arrival(0.0, "x")], 1.0)


pieces = st.text(alphabet=st.sampled_from(list("ab \n流-")), min_size=1, max_size=12)
timed = st.lists(st.tuples(st.floats(min_value=0, max_value=0.4), pieces), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(timed, st.floats(min_value=0, max_value=1.0))
def test_every_strategy_keeps_the_contract_on_random_streams(
    raw: list[tuple[float, str]], end_after: float
) -> None:
    t = 0.0
    arrivals = []
    for gap, text in raw:
        t += gap
        arrivals.append(Arrival(t, text))
    for name in ALL:
        schedule = simulate(make_strategy(name), arrivals, t + end_after)
        assert contract_violations(arrivals, schedule) == [], name
    m = measure(arrivals, simulate(make_strategy("adaptive"), arrivals, t + end_after))
    assert m.added_ttft == 0.0
    assert m.max_burst_chars <= 250
    assert m.max_reveals_per_second <= 60
