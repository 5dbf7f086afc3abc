"""The live Pacer on a real event loop: text intact, one timer, nothing left behind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import pytest
import pytest_asyncio

from streamui.pipeline.pacing import Pacer
from streamui.pipeline.smoothing import make_strategy

ALL = ["passthrough", "fixed", "throttle", "adaptive"]
TOKENS = ["Stre", "aming", " text", " arrives", " in", " pieces", ",", " some", " mid", "-word", "."] * 6


class TimerLog:
    """Records every timer the loop hands out, to check none is left pending."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.handles: list[asyncio.TimerHandle] = []
        self._call_later = loop.call_later

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        handle = self._call_later(delay, callback, *args, **kwargs)
        self.handles.append(handle)
        return handle

    def pending(self) -> list[asyncio.TimerHandle]:
        now = self.loop.time()
        return [h for h in self.handles if not h.cancelled() and h.when() > now]


@pytest_asyncio.fixture
async def timers(monkeypatch: pytest.MonkeyPatch) -> TimerLog:
    log = TimerLog(asyncio.get_running_loop())
    monkeypatch.setattr(log.loop, "call_later", log.call_later)
    return log


async def produce(pacer: Pacer, tokens: list[str], gap: float) -> None:
    for token in tokens:
        await asyncio.sleep(gap)
        pacer.push(token)
    pacer.finish()


@pytest.mark.parametrize("name", ALL)
async def test_text_arrives_intact_and_no_timer_is_left(name: str, timers: TimerLog) -> None:
    shown: list[str] = []

    async def emit(text: str) -> None:
        shown.append(text)

    pacer = Pacer(make_strategy(name), emit)
    runner = asyncio.ensure_future(pacer.run())
    await produce(pacer, TOKENS, 0.002)
    await asyncio.wait_for(runner, 5)
    assert "".join(shown) == "".join(TOKENS)
    assert timers.pending() == []


async def test_adaptive_paces_live_within_frames(timers: TimerLog) -> None:
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def emit(text: str) -> None:
        times.append(loop.time())

    pacer = Pacer(make_strategy("adaptive"), emit)
    runner = asyncio.ensure_future(pacer.run())
    await produce(pacer, TOKENS, 0.002)
    await asyncio.wait_for(runner, 5)
    assert len(times) > 3
    # Coalesced to frames on the loop's clock (timer resolution allows a little slack).
    assert min(b - a for a, b in pairwise(times)) >= 1 / 60 - 0.002


@pytest.mark.parametrize("name", ALL)
async def test_cancel_mid_stream_leaves_no_pending_timer(name: str, timers: TimerLog) -> None:
    shown: list[str] = []

    async def emit(text: str) -> None:
        shown.append(text)

    pacer = Pacer(make_strategy(name), emit)
    runner = asyncio.ensure_future(pacer.run())
    for token in TOKENS[:30]:
        pacer.push(token)
        await asyncio.sleep(0.001)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    assert timers.pending() == []
    assert "".join(TOKENS).startswith("".join(shown))


async def test_push_during_emit_is_not_missed(timers: TimerLog) -> None:
    shown: list[str] = []
    pacer: Pacer

    async def emit(text: str) -> None:
        shown.append(text)
        if len(shown) == 1:
            pacer.push(" more")
            pacer.finish()
        await asyncio.sleep(0)

    pacer = Pacer(make_strategy("passthrough"), emit)
    runner = asyncio.ensure_future(pacer.run())
    pacer.push("first")
    await asyncio.wait_for(runner, 1)
    assert "".join(shown) == "first more"
