"""The commit-stage benchmark: the pipeline on a virtual clock, retractions, hold delays,
re-timing, the command line, and the issue's targets on the shipped corpus (deterministic)."""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from streamui.pipeline.commit import CommitStage
from streamui.pipeline.corrections import LateRevision, Revision, Struck
from streamui.pipeline.smoothing import Arrival, Passthrough, make_strategy
from streamui.pipeline.virtual import run_pipeline as simulate_pipeline
from streamui.pipeline.virtual import simulate
from streamui.upstream.events import Confirm, DraftDelta, Rollback, TextDelta
from streamui.upstream.traces import Trace, event_to_json, load_trace, parse_trace
from tools.bench.commit_bench import (
    WORSE_MARGIN,
    CommitReport,
    bench_trace,
    grouped_totals,
    pipeline_violations,
    retime,
    run,
)
from tools.bench.metrics import percentile
from tools.bench.optimum import FRAME
from tools.bench.trace_bench import DEFAULT_CORPUS, main, trace_paths
from tools.bench.visible import (
    PlacedMark,
    ReplayUpstream,
    naive_states,
    retracted_chars,
    visible_states,
)

ROOT = Path(__file__).resolve().parent.parent.parent


def trace_of(*events: str) -> Trace:
    return parse_trace(['{"streamui_trace": 1, "name": "t", "split": "tuning"}', *events])


def tokens_trace(
    tokens: list[str], *, start: float = 0.1, step: float = 0.02, end: float | None = None
) -> Trace:
    lines = [json.dumps({"t": round(start + step * i, 6), "text": tok}) for i, tok in enumerate(tokens)]
    end_t = start + step * len(tokens) if end is None else end
    return trace_of(*lines, json.dumps({"t": round(end_t, 6), "end": True}))


DRAFTS = trace_of(
    '{"t": 0.1, "text": "The answer is"}',
    '{"t": 0.2, "draft": " 42"}',
    '{"t": 0.21, "draft": " apples"}',
    '{"t": 0.3, "rollback": 7}',
    '{"t": 0.31, "draft": "."}',
    '{"t": 0.4, "confirm": true}',
    '{"t": 0.5, "text": " Done."}',
    '{"t": 0.6, "end": true}',
)

CORRECTED = tokens_trace(
    ["Hi", ".", " The", " capital", " is", " Sydney", ".", " Actually", ",", " it", " is", " Canberra", ".",
     " It", " has", " a", " lake", "."],
    end=0.6,
)  # fmt: skip


def test_retracted_chars_counts_what_the_next_state_does_not_keep() -> None:
    assert retracted_chars(["ab", "abc", "abcd"]) == 0
    assert retracted_chars(["ab", "abc", "ax", "axyz"]) == 2  # "bc" went
    assert retracted_chars(["abc", "", "abc", "abd"]) == 3 + 1


def test_a_rolled_back_draft_is_retracted_by_a_naive_renderer_and_never_shown_by_ours() -> None:
    states = list(naive_states(DRAFTS.events))
    assert states[:4] == ["The answer is", "The answer is 42", "The answer is 42 apples", "The answer is 42"]
    assert retracted_chars(states) == len(" apples")
    for strategy in ("passthrough", "adaptive"):
        result, pipeline = bench_trace(DRAFTS, "replace", strategy)
        assert result.naive_retracted == 7
        assert result.retracted == 0
        assert pipeline.shown_text == DRAFTS.text == "The answer is 42. Done."
        assert result.violations == ()


def test_naive_renderer_retracts_a_draft_pushed_aside_by_text_and_one_left_at_the_end() -> None:
    trace = trace_of(
        '{"t": 0.1, "draft": "ab"}',
        '{"t": 0.2, "text": "X"}',  # final text goes before the pending draft: "ab" moves
        '{"t": 0.3, "draft": "c"}',
        '{"t": 0.4, "end": true}',  # unconfirmed draft disappears
    )
    assert list(naive_states(trace.events)) == ["ab", "Xab", "Xabc", "X"]
    assert retracted_chars(naive_states(trace.events)) == 2 + 3


def test_a_correction_is_never_shown_then_taken_back() -> None:
    replace, run_replace = bench_trace(CORRECTED, "replace", "passthrough")
    assert replace.corrections == 1 and replace.retracted == 0 and replace.naive_retracted == 0
    assert run_replace.shown_text == "Hi. It is Canberra. It has a lake."
    marks = [item for item in run_replace.visible if isinstance(item, PlacedMark)]
    assert len(marks) == 1 and type(marks[0].mark) is Revision
    assert marks[0].mark.original == "The capital is Sydney." and marks[0].mark.at == len("Hi. ")

    annotate, run_annotate = bench_trace(CORRECTED, "annotate", "passthrough")
    assert annotate.corrections == 1 and annotate.retracted == 0
    states = list(visible_states(run_annotate))
    struck_at = next(i for i, s in enumerate(states) if "Sydney" in s)
    assert states[struck_at] == "Hi. The capital is Sydney."  # shown struck through from the start
    assert states[-1] == "Hi. The capital is Sydney. Actually, it is Canberra. It has a lake."
    assert any(isinstance(item, PlacedMark) and isinstance(item.mark, Struck) for item in run_annotate.visible)

    passthrough, run_pass = bench_trace(CORRECTED, "passthrough", "passthrough")
    assert passthrough.corrections == 0 and passthrough.retracted == 0  # shown as written, and it stays
    assert run_pass.shown_text == CORRECTED.text


def test_a_correction_of_the_first_sentence_is_marked_never_taken_back() -> None:
    # The first phrase is shown within first_hold_ms, so a correction of a first sentence
    # comes too late: the shown sentence stays, a LateRevision mark follows it (issue 10).
    first = tokens_trace(
        ["The", " capital", " is", " Sydney", ".", " Actually", ",", " it", " is", " Canberra", "."], end=0.4
    )
    result, pipeline = bench_trace(first, "replace", "passthrough")
    assert result.retracted == 0 and result.corrections == 0 and result.late_corrections == 1
    assert pipeline.shown_text == first.text
    marks = [item.mark for item in pipeline.visible if isinstance(item, PlacedMark)]
    assert marks == [LateRevision("The capital is Sydney.", "Actually,", len("The capital is Sydney."), 0)]


def test_pipeline_violations_catch_text_that_went_missing() -> None:
    _, pipeline = bench_trace(DRAFTS, "replace", "passthrough")
    assert pipeline_violations(DRAFTS, pipeline) == []
    pipeline.commits[-1] = Arrival(pipeline.commits[-1].t, " Don")
    problems = pipeline_violations(DRAFTS, pipeline)
    assert any(p.startswith("smoothing: revealed text differs") for p in problems)
    assert any(p.startswith("commit: ") for p in problems)


def test_hold_percentiles_by_hand() -> None:
    trace = trace_of(
        '{"t": 0.0, "text": "Alpha"}',  # the first phrase: forced out at 0.1 (first_hold_ms 100)
        '{"t": 0.1, "text": " beta,"}',  # the clause point is known at 0.15: hold 0.05
        '{"t": 0.15, "text": " gamma"}',  # the first sentence keeps that budget: out at 0.25
        '{"t": 0.3, "text": "."}',  # known at 0.32: hold 0.02
        '{"t": 0.32, "text": " Delta"}',
        '{"t": 0.5, "text": "!"}',  # known at 0.62: " Delta!" held since 0.32
        '{"t": 0.62, "text": " and more words"}',  # no point: forced out at 0.96 (hold_ms 340), in two
        '{"t": 1.2, "end": true}',
    )
    result, _ = bench_trace(trace, "passthrough", "passthrough")
    assert result.holds == pytest.approx((0.10, 0.05, 0.10, 0.02, 0.30, 0.34, 0.34))
    assert result.hold_p50 == pytest.approx(0.10)  # nearest rank: the 4th of 7
    assert result.hold_p95 == pytest.approx(0.34)
    assert result.hold_max == pytest.approx(0.34)


def test_marks_wait_for_the_reveals_to_reach_them() -> None:
    trace = tokens_trace(
        ["Intro", ".\n", "The", " sky", " is", " green", ".", " Wait", ",", " it", " is", " blue", "."]
    )
    stage = CommitStage("replace")
    pipeline = simulate_pipeline(stage, make_strategy("adaptive"), trace.events)
    (mark,) = [item for item in pipeline.visible if isinstance(item, PlacedMark)]
    before = "".join(
        item.text for item in pipeline.visible[: pipeline.visible.index(mark)] if isinstance(item, Arrival)
    )
    assert isinstance(mark.mark, Revision) and before == "Intro.\n" and mark.mark.at == len(before)
    assert pipeline.shown_text == "Intro.\nIt is blue."


class Recorder(Passthrough):
    def __init__(self) -> None:
        super().__init__()
        self.observed: list[tuple[int, float]] = []

    def observe_upstream(self, chars: int, now: float) -> None:
        self.observed.append((chars, now))


def test_the_strategy_observes_upstream_text_and_drafts_as_generation_does() -> None:
    trace = trace_of(
        '{"t": 0.05, "reasoning": "hmm"}',
        *[json.dumps({"t": e.t, **event_to_json(e.event)}) for e in DRAFTS.events[:-1]],
        '{"t": 0.55, "usage": {"prompt_tokens": 1, "completion_tokens": 3}}',
        '{"t": 0.6, "end": true}',
        '{"t": 0.7, "text": "after the end"}',
    )
    recorder = Recorder()
    pipeline = simulate_pipeline(CommitStage("replace"), recorder, trace.events)
    # Final text and drafts (rolled back or not) as they left the upstream; no reasoning,
    # rollback, confirm, usage, nor anything after the end.
    assert recorder.observed == [(13, 0.1), (3, 0.2), (7, 0.21), (1, 0.31), (6, 0.5)]
    assert [(len(a.text), a.t) for a in pipeline.upstream] == recorder.observed


@pytest.mark.parametrize(
    "name", ["speculative-1", "corrections-501", "stalls-4", "bursty-2", "reasoning-503", "gpt4o-072"]
)
@pytest.mark.parametrize("strategy", ["adaptive", "throttle", "fixed"])
def test_one_clock_gives_the_schedule_simulate_gives_for_the_commits(
    name: str, strategy: str
) -> None:
    folder = "gpt4o" if name.startswith("gpt4o") else "generated"
    trace = load_trace(DEFAULT_CORPUS / folder / f"{name}.jsonl")
    pipeline = simulate_pipeline(CommitStage("replace"), make_strategy(strategy), trace.events)
    assert pipeline.upstream
    # The strategy sees the commits and, in between, the upstream arrivals up to each
    # time: replaying both through `virtual.simulate` gives the very same reveals.
    told = ReplayUpstream(make_strategy(strategy), pipeline.upstream)
    assert pipeline.schedule == simulate(told, pipeline.commits, pipeline.end_t)
    if strategy == "adaptive":  # (and it does use them: without, it paces otherwise)
        assert pipeline.schedule != simulate(make_strategy(strategy), pipeline.commits, pipeline.end_t)
    assert pipeline.reasoning or not any(type(e.event).__name__ == "ReasoningDelta" for e in trace.events)


def test_retime_keeps_the_events_and_paces_tokens() -> None:
    fast = retime(DRAFTS, 50)
    assert fast.text == DRAFTS.text
    kinds = [type(e.event) for e in fast.events]
    assert kinds.index(Rollback) < kinds.index(Confirm)
    tokens = [e for e in fast.events if isinstance(e.event, (TextDelta, DraftDelta))]
    assert tokens[0].t == DRAFTS.events[0].t
    assert [round(b.t - a.t, 6) for a, b in itertools.pairwise(tokens)] == [0.02] * (len(tokens) - 1)
    rollback = next(e for e in fast.events if isinstance(e.event, Rollback))
    assert rollback.t == max(e.t for e in tokens if e.t <= rollback.t)  # at the time of the token before it
    assert fast.header["retimed_rate"] == 50


# --- the command line --------------------------------------------------------------------


def write_traces(tmp_path: Path) -> tuple[Path, Path]:
    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"streamui_trace": 1}\n{"t": 0.1, "text": 5}\n')
    good = tmp_path / "drafts.jsonl"
    good.write_text(
        "\n".join(
            ['{"streamui_trace": 1, "name": "drafts", "split": "tuning"}']
            + [json.dumps({"t": e.t, **event_to_json(e.event)}) for e in DRAFTS.events]
        )
        + "\n"
    )
    return bad, good


def test_cli_commit_tables_json_and_errors(tmp_path: Path) -> None:
    bad, good = write_traces(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    assert main({"commit": True, "traces": [str(good)]}, out, err) == 0, err.getvalue()
    rows = [line.split() for line in out.getvalue().splitlines()]
    assert ["drafts", "tuning", "replace", "adaptive", "0", "7"] in [row[:6] for row in rows]
    assert {row[2] for row in rows if row[:1] == ["drafts"]} == {"replace", "annotate", "passthrough"}

    out = io.StringIO()
    opts = {"commit": True, "traces": [str(good)], "json": True, "policies": ["replace"], "rate": 50.0}
    assert main(opts, out, io.StringIO()) == 0
    data = json.loads(out.getvalue())
    assert data["rate"] == 50.0
    assert [(r["policy"], r["strategy"], r["retracted"], r["naive_retracted"]) for r in data["traces"]] == [
        ("replace", "adaptive", 0, 7)
    ]
    assert data["totals"]["tuning"]["replace+adaptive"]["retracted"] == 0

    err = io.StringIO()
    assert main({"commit": True, "traces": [str(bad), str(good)], "summary": True}, io.StringIO(), err) == 1
    assert f"{bad}:2: text must be a string" in err.getvalue()
    bad_options: list[tuple[dict[str, object], str]] = [
        ({"commit": True, "policies": ["nope"]}, "unknown correction policy 'nope'"),
        ({"commit": True, "strategies": ["nope"]}, "unknown smoothing strategy 'nope'"),
        ({"commit": True, "rate": 0.0}, "--rate must be positive"),
        ({"rate": 50.0}, "--policy and --rate need --commit"),
    ]
    for bad_opts, message in bad_options:
        err = io.StringIO()
        assert main({"traces": [str(good)], **bad_opts}, io.StringIO(), err) == 2
        assert message in err.getvalue()


def test_management_command_commit(tmp_path: Path) -> None:
    pytest.importorskip("django")
    _, good = write_traces(tmp_path)
    done = subprocess.run(
        [sys.executable, "manage.py", "streamui_bench", "--commit", "--summary", "--policy", "replace",
         "--rate", "50", str(good)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "Unknown command" not in done.stderr and "No module named" not in done.stderr, done.stderr  # gone: fail
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("commit stage + smoothing, re-timed to 50 tokens/s")
    assert "tuning   replace     adaptive   " in done.stdout


# --- the targets on the shipped corpus ----------------------------------------------------


@pytest.fixture(scope="module")
def recorded() -> CommitReport:
    return run(trace_paths([DEFAULT_CORPUS]), ["replace"], ["adaptive"])


@pytest.fixture(scope="module")
def at_50() -> CommitReport:
    return run(trace_paths([DEFAULT_CORPUS]), ["replace"], ["adaptive"], rate=50)


@pytest.mark.parametrize("timing", ["recorded", "at_50"])
def test_replace_never_retracts_anything_on_the_corpus(timing: str, request: pytest.FixtureRequest) -> None:
    report: CommitReport = request.getfixturevalue(timing)
    assert report.errors == []
    assert len(report.results) == len(trace_paths([DEFAULT_CORPUS]))
    speculative = [r for r in report.results if r.naive_retracted]
    corrected = [r for r in report.results if r.corrections]
    for group in (speculative, corrected):  # the corpus has both, in both splits
        assert {r.split for r in group} == {"tuning", "heldout"}
        assert len(group) >= 8
    assert all(r.naive_retracted > 50 for r in speculative)  # a naive renderer flickers on every one
    assert [r.trace for r in report.results if r.retracted] == []
    assert sum(r.dropped_chars for r in report.results) > 0  # and no trace broke pipeline_violations


def test_p95_hold_at_50_tokens_per_second_is_under_400_ms(at_50: CommitReport) -> None:
    pooled = grouped_totals(at_50)["all"][("replace", "adaptive")]
    assert pooled.commits > 5000
    assert pooled.hold_p95 < 0.4
    assert pooled.hold_max <= 0.4 + 1e-9  # the hold limit


def test_p95_hold_as_recorded_is_under_400_ms(recorded: CommitReport) -> None:
    assert grouped_totals(recorded)["all"][("replace", "adaptive")].hold_p95 < 0.4


# The jitter targets for commit + adaptive, against the upstream's text and passthrough without a
# commit stage, on both splits. "0 ms added time to first token" is the smoothing stage's share:
# first visible reveal minus first visible commit, at most a frame; the commit stage's own hold is
# a separate figure with its own target (p95 under 400 ms at 50 tok/s, above).


@pytest.mark.parametrize("timing", ["recorded", "at_50"])
@pytest.mark.parametrize("split", ["tuning", "heldout"])
def test_commit_and_adaptive_keep_the_burst_cap_frame_rate_and_completion(
    timing: str, split: str, request: pytest.FixtureRequest
) -> None:
    report: CommitReport = request.getfixturevalue(timing)
    t = grouped_totals(report)[split][("replace", "adaptive")]
    assert t.max_burst_chars <= 250
    assert t.max_reveals_per_second <= 60
    assert t.max_completion < 0.6  # last reveal - last upstream text, every trace


@pytest.mark.parametrize("timing", ["recorded", "at_50"])
@pytest.mark.parametrize("split", ["tuning", "heldout"])
def test_smoothing_adds_at_most_a_frame_to_the_first_commit(
    timing: str, split: str, request: pytest.FixtureRequest
) -> None:
    report: CommitReport = request.getfixturevalue(timing)
    results = [r for r in report.results if r.split == split]
    assert max(r.smoothing_ttft for r in results) <= FRAME
    # Counted from the upstream's first text, the rest is the commit stage holding the first
    # phrase, so never more than its hold limit.
    assert max(r.metrics.added_ttft for r in results) <= 0.4 + FRAME


@pytest.mark.parametrize("split", ["tuning", "heldout"])
def test_the_first_phrase_adds_at_most_150_ms_p95_at_50_tokens_per_second(at_50: CommitReport, split: str) -> None:
    # Issue 10: the first phrase's hold was p95 340 ms at 50 tok/s; the first sentence now commits
    # in pieces no older than first_hold_ms (100 ms).
    added = [r.metrics.added_ttft for r in at_50.results if r.split == split]
    assert percentile(added, 95) <= 0.150


@pytest.mark.parametrize("split", ["tuning", "heldout"])
def test_commit_and_adaptive_cut_stall_time_by_90_percent(recorded: CommitReport, split: str) -> None:
    t = grouped_totals(recorded)[split][("replace", "adaptive")]
    assert t.stall_reduction is not None and t.stall_reduction >= 0.90


@pytest.mark.parametrize("split", ["tuning", "heldout"])
def test_commit_and_adaptive_make_no_trace_worse(recorded: CommitReport, split: str) -> None:
    assert grouped_totals(recorded)[split][("replace", "adaptive")].worse_traces == 0


def test_at_50_tokens_per_second_no_trace_is_worse_by_more_than_the_margin(at_50: CommitReport) -> None:
    # Passthrough shows no stall at a steady 50 tok/s; what the pipeline shows is within the margin
    # on every trace (up to float rounding: see the next test).
    for r in at_50.results:
        assert r.metrics.stall_time <= r.baseline_stall + WORSE_MARGIN + 1e-9, r.trace


@pytest.mark.parametrize("split", ["tuning", "heldout"])
def test_at_50_tokens_per_second_no_trace_is_worse(at_50: CommitReport, split: str) -> None:
    assert grouped_totals(at_50)[split][("replace", "adaptive")].worse_traces == 0
