"""The trace benchmark: arrivals from traces, metrics, the offline optimum, the command line,
and the adaptive strategy's targets on the shipped corpus (a virtual clock, so deterministic)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from streamui.pipeline.smoothing import Arrival, make_strategy
from streamui.pipeline.virtual import simulate
from streamui.upstream.traces import parse_trace
from tools.bench import pacer_cost
from tools.bench.metrics import contract_violations, max_in_window, measure, percentile
from tools.bench.optimum import FRAME, Unit, deadlines, offline_optimum, units_of
from tools.bench.trace_bench import (
    DEFAULT_CORPUS,
    Report,
    grouped_totals,
    main,
    run,
    text_arrivals,
    trace_paths,
)

ROOT = Path(__file__).resolve().parent.parent.parent


def trace_of(*lines: str) -> str:
    return "\n".join(['{"streamui_trace": 1, "name": "t", "split": "tuning"}', *lines]) + "\n"


def test_text_arrivals_keep_answer_text_and_confirmed_drafts_only() -> None:
    trace = parse_trace(
        trace_of(
            '{"t": 0.1, "reasoning": "hmm"}',
            '{"t": 0.2, "text": "Hi"}',
            '{"t": 0.3, "draft": " there"}',
            '{"t": 0.31, "draft": " wrong"}',
            '{"t": 0.35, "rollback": 6}',
            '{"t": 0.4, "confirm": true}',
            '{"t": 0.5, "text": "!"}',
            '{"t": 0.6, "usage": {"prompt_tokens": 1, "completion_tokens": 3}}',
            '{"t": 0.9, "end": true}',
            '{"t": 1.5, "text": "after the end"}',
        ).splitlines()
    )
    arrivals, end_t = text_arrivals(trace)
    assert arrivals == [Arrival(0.2, "Hi"), Arrival(0.4, " there"), Arrival(0.5, "!")]
    assert end_t == 0.9


def test_metrics_by_hand() -> None:
    arrivals = [Arrival(1.0, "\n"), Arrival(1.2, "Hello"), Arrival(1.3, " world"), Arrival(2.0, " again")]
    schedule = [
        Arrival(1.0, "\n"),  # invisible: neither a first token nor a gap
        Arrival(1.25, "Hello"),
        Arrival(1.35, " world"),
        Arrival(2.05, " "),
        Arrival(2.1, "again"),
    ]
    m = measure(arrivals, schedule)
    assert m.added_ttft == pytest.approx(0.05)
    assert m.completion_delay == pytest.approx(0.1)
    assert m.gaps == pytest.approx((0.1, 0.75))
    assert m.largest_gap == pytest.approx(0.75)
    assert m.stall_time == pytest.approx(0.5)
    assert m.stall_count == 1
    assert m.max_burst_chars == 6  # "Hello" and " world" are 100 ms apart: separate windows
    assert m.mean_lag == pytest.approx((0 + 5 * 0.05 + 6 * 0.05 + 0.05 + 5 * 0.1) / 18)


def test_burst_window_is_half_open() -> None:
    assert max_in_window([0.0, 0.1, 0.2], [100, 100, 100], 0.1) == 100
    assert max_in_window([0.0, 0.0999, 0.2], [100, 100, 100], 0.1) == 200


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 99) == 0.0
    assert percentile([3.0, 1.0, 2.0], 99) == 3.0
    assert percentile([float(i) for i in range(1, 201)], 99) == 198.0


def test_contract_violations_catch_early_or_changed_text() -> None:
    arrivals = [Arrival(1.0, "ab"), Arrival(2.0, "cd")]
    assert contract_violations(arrivals, [Arrival(1.0, "ab"), Arrival(2.0, "cd")]) == []
    early = contract_violations(arrivals, [Arrival(1.0, "abc"), Arrival(2.0, "d")])
    assert any("only 2 arrived" in p for p in early)
    assert contract_violations(arrivals, [Arrival(2.0, "abdc")])


def test_optimum_of_a_steady_trickle_is_its_spacing() -> None:
    arrivals = [Arrival(i * 0.1, f" w{i}") for i in range(20)]
    best = offline_optimum(arrivals, 0.0, arrivals[-1].t)
    assert best is not None and best.proven
    assert best.largest_gap == pytest.approx(0.1, abs=0.002)


def test_optimum_spreads_a_cushion_over_a_stall() -> None:
    arrivals = [Arrival(i * 0.01, f" w{i}") for i in range(10)] + [Arrival(2.0, " late")]
    best = offline_optimum(arrivals, 0.0, 2.0)
    assert best is not None and best.proven
    # Ten words must span the two seconds until the late one: one every 0.2 s.
    assert best.largest_gap == pytest.approx(0.2, abs=0.002)


def test_optimum_needs_time_to_drain_a_dump() -> None:
    arrivals = [Arrival(0.0, "x"), Arrival(1.0, " word" * 100)]
    assert offline_optimum(arrivals, 0.0, 1.01) is None  # 500 chars cannot show within 10 ms
    assert offline_optimum(arrivals, 0.0, 1.3) is not None


def test_deadlines_pack_a_frame_share_per_frame_backwards() -> None:
    units = [Unit(0.0, 20)] * 5
    assert deadlines(units, 1.0, frame=FRAME, frame_chars=41) == pytest.approx(
        [1.0 - 2 * FRAME, 1.0 - FRAME, 1.0 - FRAME, 1.0, 1.0]
    )


def test_first_unit_is_cut_where_the_first_reveal_falls() -> None:
    units = units_of([Arrival(0.0, "**S"), Arrival(0.1, "uing a"), Arrival(0.2, " minor")], 0.0)
    assert [(u.available, u.chars) for u in units] == [(0.0, 3), (0.1, 4), (0.1, 2), (0.2, 6)]


def test_corpus_is_split_and_shipped_in_the_repo() -> None:
    paths = trace_paths([DEFAULT_CORPUS])
    assert len(paths) >= 200
    assert all(ROOT in p.parents for p in paths)
    gpt4o = [p for p in paths if p.parent.name == "gpt4o"]
    assert len(gpt4o) == 180
    assert (DEFAULT_CORPUS / "gpt4o" / "README.md").read_text().count("Jonathan Bar Or") == 1


@pytest.fixture(scope="module")
def corpus_report() -> Report:
    return run(trace_paths([DEFAULT_CORPUS]), ["passthrough", "adaptive"], optimum=False)


@pytest.mark.parametrize("split", ["tuning", "heldout"])
def test_adaptive_meets_the_issue_targets_on_the_corpus(corpus_report: Report, split: str) -> None:
    assert corpus_report.errors == []
    adaptive = grouped_totals(corpus_report)[split]["adaptive"]
    assert adaptive.traces >= 100
    assert adaptive.stall_reduction is not None and adaptive.stall_reduction >= 0.90
    assert adaptive.worse_traces == 0
    assert adaptive.max_added_ttft <= FRAME
    assert adaptive.max_completion < 0.6
    assert adaptive.max_burst_chars <= 250
    assert adaptive.max_reveals_per_second <= 60


def test_adaptive_never_beats_the_offline_optimum_on_stalled_traces(corpus_report: Report) -> None:
    stalled = [r for r in corpus_report.results if r.strategy == "adaptive" and r.baseline_stall > 0]
    assert len(stalled) > 20
    for path in trace_paths([DEFAULT_CORPUS]):
        if path.stem not in {r.trace for r in stalled}:
            continue
        from streamui.upstream.traces import load_trace

        arrivals, end_t = text_arrivals(load_trace(path))
        schedule = simulate(make_strategy("adaptive"), arrivals, end_t)
        best = offline_optimum(arrivals, schedule[0].t, schedule[-1].t)
        assert best is not None
        assert best.largest_gap <= measure(arrivals, schedule).largest_gap + 0.001, path.stem


def test_schedule_files_reproduce_the_reported_figures(tmp_path: Path) -> None:
    paths = [DEFAULT_CORPUS / "gpt4o" / "gpt4o-073.jsonl", DEFAULT_CORPUS / "generated" / "stalls-1.jsonl"]
    report = run(paths, ["passthrough", "adaptive"], schedule_out=tmp_path, optimum=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "gpt4o-073.adaptive.jsonl",
        "gpt4o-073.passthrough.jsonl",
        "stalls-1.adaptive.jsonl",
        "stalls-1.passthrough.jsonl",
    ]
    for result in report.results:
        stem = "gpt4o-073" if result.trace == "gpt4o-073" else "stalls-1"
        rows = [json.loads(line) for line in (tmp_path / f"{stem}.{result.strategy}.jsonl").open()]
        schedule = [Arrival(row["t"], row["text"]) for row in rows]
        from streamui.upstream.traces import load_trace

        arrivals, _ = text_arrivals(load_trace(next(p for p in paths if p.stem == stem)))
        again = measure(arrivals, schedule)
        assert again.stall_time == pytest.approx(result.metrics.stall_time, abs=1e-5)
        assert again.largest_gap == pytest.approx(result.metrics.largest_gap, abs=1e-5)
        assert again.max_burst_chars == result.metrics.max_burst_chars


def bad_and_good(tmp_path: Path) -> tuple[Path, Path]:
    bad = tmp_path / "broken.jsonl"
    bad.write_text(trace_of('{"t": 0.1, "text": "ok"}', '{"t": 0.2, "text": 5}'))
    good = tmp_path / "fine" / "good.jsonl"
    good.parent.mkdir()
    good.write_text(
        trace_of('{"t": 0.1, "text": "Hello"}', '{"t": 0.2, "text": " there"}', '{"t": 0.3, "end": true}')
    )
    return bad, good


def test_cli_reports_a_malformed_trace_and_the_rest(tmp_path: Path) -> None:
    bad, good = bad_and_good(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    status = main({"traces": [str(bad), str(good.parent)], "strategies": ["adaptive"]}, out, err)
    assert status == 1
    assert f"{bad}:3: text must be a string" in err.getvalue()
    assert "good" not in err.getvalue()
    assert ["t", "tuning", "adaptive"] in [line.split()[:3] for line in out.getvalue().splitlines()]


def test_cli_json_and_summary(tmp_path: Path) -> None:
    _, good = bad_and_good(tmp_path)
    out = io.StringIO()
    assert main({"traces": [str(good)], "json": True}, out, io.StringIO()) == 0
    data = json.loads(out.getvalue())
    assert [row["strategy"] for row in data["traces"]] == ["passthrough", "fixed", "throttle", "adaptive"]
    assert set(data["totals"]["tuning"]) == {"passthrough", "fixed", "throttle", "adaptive"}
    out = io.StringIO()
    assert main({"traces": [str(good)], "summary": True}, out, io.StringIO()) == 0
    assert out.getvalue().startswith("split ")


def test_cli_rejects_an_unknown_strategy(tmp_path: Path) -> None:
    _, good = bad_and_good(tmp_path)
    err = io.StringIO()
    assert main({"traces": [str(good)], "strategies": ["nope"]}, io.StringIO(), err) == 2
    assert "unknown smoothing strategy 'nope'" in err.getvalue()


def test_management_command_exits_nonzero_without_traceback(tmp_path: Path) -> None:
    pytest.importorskip("django")
    bad, good = bad_and_good(tmp_path)
    done = subprocess.run(
        [sys.executable, "manage.py", "streamui_bench", "--summary", "--no-optimum", str(bad), str(good)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Unknown command" not in done.stderr and "No module named" not in done.stderr, done.stderr  # gone: fail
    assert done.returncode == 1
    assert f"{bad}:3:" in done.stderr
    assert "Traceback" not in done.stderr
    assert "adaptive" in done.stdout


async def test_pacer_cost_runs_and_keeps_text_intact() -> None:
    base, adaptive = await pacer_cost.compare(["adaptive"], streams=5, tokens=20, rate=500.0)
    assert base.intact and adaptive.intact
    assert adaptive.tokens == 100
