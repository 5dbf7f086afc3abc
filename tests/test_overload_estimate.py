"""The overload guard's arithmetic (streamui.overload): the CPU share, a stream's cost of it, and
the admissions whose cost has not shown yet. Plain Python, times given."""

from __future__ import annotations

import pytest

from streamui.overload import ADMITTED_WINDOW, BUSY_CPU, COST_MEMORY, CPU_WINDOW, MIN_STREAMS, Admissions, ProcessLoad


def loaded(*, share: float, per_stream: float) -> ProcessLoad:
    """A ProcessLoad that measured `share` over one window with 100 streams at `per_stream` each."""
    load = ProcessLoad()
    load.read(wall=0.0, cpu=0.0, running=0)
    load.read(wall=1.0, cpu=per_stream * 100, running=100)
    load.share = share
    return load


def test_the_share_is_cpu_time_per_wall_second_over_at_least_one_window() -> None:
    load = ProcessLoad()
    load.read(wall=10.0, cpu=1.0, running=0)
    assert load.share == 0.0  # the first reading only starts the window
    load.read(wall=10.0 + CPU_WINDOW / 2, cpu=1.5, running=0)
    assert load.share == 0.0  # too short a window: kept, not measured
    load.read(wall=10.0 + CPU_WINDOW * 2, cpu=1.0 + CPU_WINDOW, running=0)
    assert load.share == pytest.approx(0.5)


def test_a_streams_cost_is_the_least_measured_lately_with_enough_streams_running() -> None:
    load = ProcessLoad()
    load.read(wall=0.0, cpu=0.0, running=MIN_STREAMS - 1)
    load.read(wall=1.0, cpu=0.9, running=MIN_STREAMS - 1)
    assert load.per_stream == 0.0  # a few streams say little of what one costs
    load.read(wall=2.0, cpu=1.8, running=MIN_STREAMS)  # early in a burst: starts and sockets count too
    assert load.per_stream == pytest.approx(0.9 / MIN_STREAMS)
    load.read(wall=3.0, cpu=2.7, running=100)
    assert load.per_stream == pytest.approx(0.009)  # the tighter bound wins at once
    load.read(wall=4.0, cpu=3.7, running=50)
    assert load.per_stream == pytest.approx(0.009)  # and holds while it is recent
    load.read(wall=3.0 + COST_MEMORY + 0.5, cpu=4.7, running=50)
    assert load.per_stream == pytest.approx((4.7 - 3.7) / (COST_MEMORY - 0.5) / 50)  # then it is forgotten


def test_streams_admitted_within_the_window_are_projected_at_a_running_streams_cost() -> None:
    load = loaded(share=0.5, per_stream=0.01)
    admissions = Admissions()
    for i in range(30):
        admissions.add(100.0 + i * 0.01)
    assert admissions.projected(load, 100.3) == pytest.approx(0.5 + 30 * 0.01)
    # Once their window has passed, their cost is in the measured share: no longer counted.
    assert admissions.projected(load, 100.29 + ADMITTED_WINDOW) == pytest.approx(0.5)
    assert len(admissions.times) == 0


def test_an_idle_process_projects_a_burst_at_what_running_streams_cost_it() -> None:
    # 90 admitted at once at 1% each fit in a core; the 100th does not.
    load = loaded(share=0.05, per_stream=0.01)
    admissions = Admissions()
    for _ in range(90):
        admissions.add(5.0)
    assert admissions.projected(load, 5.0) < BUSY_CPU
    for _ in range(10):
        admissions.add(5.0)
    assert admissions.projected(load, 5.0) > BUSY_CPU
