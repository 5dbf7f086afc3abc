"""The live driver on a real event loop: text intact, one pacing clock for all streams, nothing left behind."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from itertools import pairwise
from typing import Any

import pytest
import pytest_asyncio

from streamui.frame_governor import WINDOW, FrameGovernor
from streamui.generation import Generation
from streamui.outbox import Frame
from streamui.pacing import Ticker, ticker
from streamui.pipeline.smoothing import make_strategy
from streamui.upstream.base import ChatRequest, Message
from streamui.upstream.events import End, Event, TextDelta

ALL = ["passthrough", "fixed", "throttle", "adaptive"]
TOKENS = ["Stre", "aming", " text", " arrives", " in", " pieces", ",", " some", " mid", "-word", "."] * 6
REQUEST = ChatRequest(messages=[Message("user", "hi")], max_tokens=0)


class TimerLog:
    """Records every timer the loop hands out, to check none is left pending."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.handles: list[asyncio.TimerHandle] = []
        self._call_at = loop.call_at

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        handle = self._call_at(when, callback, *args, **kwargs)
        self.handles.append(handle)
        return handle

    def pending(self) -> list[asyncio.TimerHandle]:
        now = self.loop.time()
        return [h for h in self.handles if not h.cancelled() and h.when() > now]


@pytest_asyncio.fixture
async def timers(monkeypatch: pytest.MonkeyPatch) -> TimerLog:
    log = TimerLog(asyncio.get_running_loop())
    monkeypatch.setattr(log.loop, "call_at", log.call_at)  # call_later goes through call_at
    return log


class Tokens:
    name = "tokens"

    def __init__(self, tokens: list[str], gap: float) -> None:
        self.tokens, self.gap = tokens, gap

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        for token in self.tokens:
            await asyncio.sleep(self.gap)
            yield TextDelta(token)
        yield End("stop")


def generation(name: str, frames: list[tuple[float, Frame]], tokens: list[str] = TOKENS,
               gap: float = 0.002) -> Generation:
    loop = asyncio.get_running_loop()

    async def sink(frame: Frame) -> None:
        frames.append((loop.time(), frame))

    return Generation(Tokens(tokens, gap), REQUEST, [make_strategy(name)], 7, sink, f"s-{name}")


@pytest.mark.parametrize("name", ALL)
async def test_text_arrives_intact_and_no_timer_is_left(name: str, timers: TimerLog) -> None:
    frames: list[tuple[float, Frame]] = []
    gen = generation(name, frames)
    result = await asyncio.wait_for(gen.run(), 5)
    assert result.shown == "".join(TOKENS) and result.end_reason == "done"
    assert frames and "su-m7-out" in frames[-1][1].html
    assert timers.pending() == []
    assert len(ticker()) == 0


async def test_adaptive_paces_live_within_frames(timers: TimerLog) -> None:
    frames: list[tuple[float, Frame]] = []
    await asyncio.wait_for(generation("adaptive", frames).run(), 5)
    times = [t for t, frame in frames if "-out-" in frame.html]
    assert len(times) > 3
    # At most a frame apart on the loop's clock (the pacing clock's slack allows a little).
    assert min(b - a for a, b in pairwise(times)) >= 1 / 60 - 0.004


@pytest.mark.parametrize("name", ALL)
async def test_cancel_mid_stream_leaves_no_pending_timer(name: str, timers: TimerLog) -> None:
    frames: list[tuple[float, Frame]] = []
    gen = generation(name, frames, gap=0.001)
    task = asyncio.ensure_future(gen.run())
    await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert timers.pending() == []
    assert len(ticker()) == 0
    assert "".join(TOKENS).startswith(gen.result().shown)


async def test_many_streams_share_one_pacing_timer(timers: TimerLog) -> None:
    frames: list[tuple[float, Frame]] = []
    gens = [generation("adaptive", frames) for _ in range(20)]
    tasks = [asyncio.ensure_future(g.run()) for g in gens]
    # Sampled until several streams wait on the clock at once (how soon depends on the machine's
    # load): then one armed pacing timer serves them all, not one per stream.
    most_waiting, armed_then = 0, -1
    while most_waiting < 2 and not all(t.done() for t in tasks):
        await asyncio.sleep(0.001)
        if len(ticker()) > most_waiting:
            most_waiting = len(ticker())
            armed_then = len([h for h in timers.pending()
                              if getattr(h._callback, "__func__", None) is Ticker._fire])
    assert most_waiting >= 2 and armed_then == 1
    results = await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert all(r.shown == "".join(TOKENS) for r in results)
    assert timers.pending() == []


def test_ticker_serves_every_due_callback_once_in_time_order() -> None:
    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        clock = Ticker(loop, slack=0.0)
        calls: list[str] = []
        done = asyncio.Event()
        t0 = loop.time()

        def make(name: str) -> Callable[[], None]:
            def call() -> None:
                calls.append(name)
                if len(calls) == 3:
                    done.set()
            return call

        a, b, c = make("a"), make("b"), make("c")
        clock.schedule(a, t0 + 0.03)
        clock.schedule(b, t0 + 0.01)
        clock.schedule(c, t0 + 0.02)
        clock.schedule(a, t0 + 0.04)  # moved later: served once, at the new time
        clock.schedule(c, t0 + 0.025)
        clock.cancel(c)
        clock.schedule(c, t0 + 0.035)
        await asyncio.wait_for(done.wait(), 2)
        return calls

    assert asyncio.run(scenario()) == ["b", "c", "a"]


def busy_governor() -> FrameGovernor:
    """A real governor whose every reading is a new window at a full core: it slows down each time."""
    wall, cpu = itertools.count(), itertools.count()
    return FrameGovernor(min_frame_rate=15, clock=lambda: next(wall) * WINDOW, cpu=lambda: next(cpu) * WINDOW)


async def test_while_busy_frames_are_coalesced_and_the_text_is_intact(timers: TimerLog) -> None:
    frames: list[tuple[float, Frame]] = []
    gen = generation("passthrough", frames, gap=0.005)
    gen.frames = busy_governor()
    result = await asyncio.wait_for(gen.run(), 5)
    assert result.shown == "".join(TOKENS)
    times = [t for t, frame in frames if "-out-" in frame.html]
    # Passthrough reveals every 5 ms token (it has no frame of its own); the frames go at most 15 a
    # second at the fewest, several reveals each.
    assert gen.metrics.reveals > 2 * len(times) > 4
    # (the last frame goes when the stream is done, without waiting out the spacing)
    assert min(b - a for a, b in pairwise(times[:-1])) >= 1 / 15 - 0.004
    assert timers.pending() == []


async def test_while_busy_adaptive_reveals_less_often_and_loses_nothing(timers: TimerLog) -> None:
    tokens = [f" w{i}" for i in range(120)]
    frames: list[tuple[float, Frame]] = []
    gen = generation("adaptive", frames, tokens=tokens, gap=0.004)
    gen.frames = busy_governor()
    result = await asyncio.wait_for(gen.run(), 10)
    assert result.shown == "".join(tokens)
    times = [t for t, frame in frames if "-out-" in frame.html]
    gaps = [b - a for a, b in pairwise(times[1:-1])]  # after the first word, before the drain's last
    assert gaps and min(gaps) >= 1 / 15 - 0.004
    assert timers.pending() == []


async def test_the_ticker_measures_a_loop_that_runs_late_and_forgets_it_when_idle(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9's overload guard reads this: one pause hardly moves it, lateness at every firing does."""
    import time

    from streamui import pacing

    loop = asyncio.get_running_loop()
    clock = Ticker(loop)
    fired: list[float] = []

    def again() -> None:
        fired.append(loop.time())
        clock.schedule(again, loop.time() + 0.005)

    clock.schedule(again, loop.time() + 0.005)
    await asyncio.sleep(0.2)
    on_time = clock.lag()
    assert on_time < 0.01 and len(fired) > 10
    loop.call_soon(time.sleep, 0.3)  # one pause of 300 ms
    await asyncio.sleep(0.35)
    assert clock.lag() < 0.03  # a pause weighs one firing in twenty
    for _ in range(40):  # late at every firing: a loop with more work than time
        loop.call_soon(time.sleep, 0.03)
        await asyncio.sleep(0.005)
    assert clock.lag() > 0.015
    clock.cancel(again)
    monkeypatch.setattr(pacing, "LAG_WINDOW", 0.1)
    await asyncio.sleep(0.15)
    assert clock.lag() == 0.0  # nothing paced lately: no lag to speak of
