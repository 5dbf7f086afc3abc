"""streamui.frame_governor: fewer frames while the process's CPU share is high, back when it falls,
never fewer than the setting allows; and the adaptive strategy's longer frame loses no text."""

from __future__ import annotations

import itertools

import pytest

from streamui.frame_governor import BUSY_SHARE, FASTEST, IDLE_SHARE, STEP, WINDOW, FrameGovernor
from streamui.pipeline.smoothing import make_strategy


class Machine:
    """Wall and CPU clocks the test moves: `run(share)` spends one window at that share of a core."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def run(self, share: float, seconds: float = WINDOW) -> None:
        self.wall += seconds
        self.cpu += share * seconds


def governor(machine: Machine, **kw: float) -> FrameGovernor:
    return FrameGovernor(clock=lambda: machine.wall, cpu=lambda: machine.cpu, **kw)


def test_a_busy_process_slows_its_frames_a_step_per_window_down_to_the_fewest() -> None:
    machine = Machine()
    frames = governor(machine, min_frame_rate=12)
    assert frames.frame() == FASTEST and not frames.busy
    seen = []
    for _ in range(8):
        machine.run(0.95)
        seen.append(frames.frame())
    assert seen[0] == pytest.approx(FASTEST * STEP)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1 / 12)  # and no further
    assert frames.busy and frames.share == pytest.approx(0.95)


def test_in_between_it_holds_and_when_idle_it_comes_back() -> None:
    machine = Machine()
    frames = governor(machine, min_frame_rate=12)
    for _ in range(3):
        machine.run(0.9)
        frames.frame()
    held = frames.frame()
    for _ in range(4):
        machine.run((BUSY_SHARE + IDLE_SHARE) / 2)
        assert frames.frame() == held  # relieved, not yet idle: no undoing itself
    for _ in range(6):
        machine.run(0.2)
        frames.frame()
    assert frames.frame() == FASTEST and not frames.busy


def test_it_decides_once_per_window_however_often_it_is_asked() -> None:
    machine = Machine()
    frames = governor(machine, min_frame_rate=12)
    machine.run(1.0, seconds=WINDOW / 4)
    for _ in range(100):
        assert frames.frame() == FASTEST  # a quarter window: no reading yet
    machine.run(1.0, seconds=WINDOW)
    assert frames.frame() == pytest.approx(FASTEST * STEP)
    assert frames.frame() == pytest.approx(FASTEST * STEP)


def test_thirty_frames_a_second_as_the_fewest_turns_it_off() -> None:
    machine = Machine()
    frames = governor(machine)  # the default
    for _ in range(5):
        machine.run(1.0)
        assert frames.frame() == FASTEST


def test_a_bad_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        FrameGovernor(min_frame_rate=0)


def test_adaptive_with_a_longer_frame_reveals_less_often_and_everything() -> None:
    words = [f"word{i} " for i in range(200)]

    def play(frame: float) -> list[tuple[float, str]]:
        strategy = make_strategy("adaptive")
        strategy.set_frame(frame)
        reveals, now, i = [], 0.0, 0
        while True:
            if i < len(words) and now >= i * 0.022:  # ~45 words a second
                strategy.push(words[i], now)
                i += 1
                if i == len(words):
                    strategy.finish(now)
            reveal = strategy.poll(now)
            if reveal.text:
                reveals.append((now, reveal.text))
            if reveal.done:
                return reveals
            now = round(now + 0.001, 6)

    fast, slow = play(0.0), play(1 / 12)
    assert "".join(t for _, t in fast) == "".join(t for _, t in slow) == "".join(words)
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(slow)]
    assert min(gaps) >= 1 / 12 - 1e-6
    assert len(slow) < len(fast) * 0.6  # fewer, fuller reveals
    assert all(text.endswith(" ") for _, text in slow)  # whole words still
