"""The overload guard's arithmetic (streamui.overload): the CPU share, a stream's cost of it, and
the admissions whose cost has not shown yet. Plain Python, times given."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamui.overload import (
    ADMITTED_WINDOW,
    BUSY_CPU,
    COST_MEMORY,
    CPU_WINDOW,
    IDLE_MEMORY,
    MIN_STREAMS,
    Admissions,
    ProcessLoad,
    machine_cpu,
)


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


def test_the_capacity_is_a_core_or_what_the_process_uses_plus_the_machines_idle_cores(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    alone = ProcessLoad()
    alone.read(wall=0.0, cpu=0.0, running=0)
    alone.read(wall=1.0, cpu=0.3, running=10)
    assert alone.idle_cores is None and alone.capacity == BUSY_CPU  # no machine figures: a core

    busy = ProcessLoad()
    samples = iter([(100.0, 1000.0), (105.0, 1100.0)])  # (idle, total) ticks, all cores: 5% idle
    busy.read(wall=0.0, cpu=0.0, running=0, machine=lambda: next(samples))
    busy.read(wall=1.0, cpu=0.3, running=10, machine=lambda: next(samples))
    assert busy.idle_cores == pytest.approx(0.1)  # 5% of two cores
    assert busy.capacity == pytest.approx(0.4)  # what it uses, plus what nobody does

    idle = ProcessLoad()
    samples = iter([(100.0, 1000.0), (170.0, 1100.0)])
    idle.read(wall=0.0, cpu=0.0, running=0, machine=lambda: next(samples))
    idle.read(wall=1.0, cpu=0.3, running=10, machine=lambda: next(samples))
    assert idle.capacity == BUSY_CPU  # 1.4 idle cores: a core is still all one process gets


def test_the_machine_is_as_idle_as_its_most_idle_window_of_the_last_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """A quarter second with no idle CPU (a client opening its sockets) is not a full machine."""
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    load = ProcessLoad()
    ticks = iter([(0.0, 0.0), (50.0, 100.0), (50.0, 200.0), (50.0, 300.0), (50.0, 400.0), (50.0, 500.0),
                  (50.0, 600.0)])
    load.read(wall=0.0, cpu=0.0, running=10, machine=lambda: next(ticks))
    load.read(wall=0.25, cpu=0.05, running=10, machine=lambda: next(ticks))
    assert load.idle_cores == pytest.approx(1.0)  # half of two cores idle
    for step in range(2, 6):  # then nothing idle, window after window
        load.read(wall=0.25 * step, cpu=0.05 * step, running=10, machine=lambda: next(ticks))
    assert load.idle_cores == pytest.approx(1.0)  # within IDLE_MEMORY of the idle window
    load.read(wall=0.25 + IDLE_MEMORY + 0.25, cpu=0.35, running=10, machine=lambda: next(ticks))
    assert load.idle_cores == 0.0  # a second with nothing idle: the machine is full
    assert load.capacity == pytest.approx(load.share)


def test_the_machines_cpu_is_read_from_proc_stat_and_nothing_else(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 5 50 800 20 0 10 15 0 0\ncpu0 50 2 25 400 10 0 5 8 0 0\n")
    assert machine_cpu(str(stat)) == (820.0, 1000.0)  # idle + iowait, of user..steal
    stat.write_text("intr 1 2 3\n")
    assert machine_cpu(str(stat)) is None
    assert machine_cpu(str(tmp_path / "absent")) is None
