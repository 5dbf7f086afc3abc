"""The corrections corpus and the issue 10 targets, measured by tools/bench/corrections_bench.py."""

from __future__ import annotations

import io
import itertools
import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamui.pipeline.commit import CommitStage
from streamui.pipeline.corrections import Committed, LateRevision, Revision
from streamui.pipeline.virtual import commit_pieces
from streamui.upstream.events import End, TextDelta
from streamui.upstream.traces import TimedEvent
from tools.bench import corrections_bench as cb
from tools.bench.trace_bench import main

CASES = cb.load_corpus()


def test_the_corpus_is_big_balanced_sourced_and_split_by_id() -> None:
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)
    true = sum(c.label for c in CASES)
    assert 0.35 <= true / len(CASES) <= 0.55  # about half look-alikes
    assert all(c.source.strip() for c in CASES)
    assert all(c.split == cb.split_of(c.id) for c in CASES)  # decided by the id, never by hand
    per_split = Counter((c.split, c.label) for c in CASES)
    assert min(per_split.values()) >= 30
    categories = {c.category for c in CASES if not c.label}
    for needed in ("confirmation", "refusal", "myth-busting", "quoted-speech", "reasoning", "code",
                   "user-text-correction", "correction-noun", "i-mean-intensifier", "instruction"):
        assert needed in categories  # fmt: skip


def test_a_bad_corpus_line_is_reported_with_its_place(tmp_path: pytest.TempPathFactory) -> None:
    bad = tmp_path / "bad.jsonl"  # type: ignore[operator]
    row = {"id": "x", "text": "A. B.", "label": True, "retracted": "C.", "expected": "", "category": "c",
           "split": "tuning", "source": "s"}  # fmt: skip
    bad.write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(cb.CorpusError, match=r"bad.jsonl:1: a correction needs `retracted`"):
        cb.load_corpus(bad)


@pytest.fixture(scope="module")
def reports() -> list[cb.CorrectionsReport]:
    return cb.run_both()


@pytest.mark.parametrize("timing", cb.TIMINGS)
def test_heldout_targets_at_every_timing(reports: list[cb.CorrectionsReport], timing: str) -> None:
    for report in reports:  # as written, and inside an answer
        t = report.totals[("heldout", timing)]
        assert t.precision >= 0.95 and t.recall >= 0.90, (report.lead, timing)
        assert t.flips == 0  # the same decisions as when the text comes at once


def test_nothing_is_ever_garbled(reports: list[cb.CorrectionsReport]) -> None:
    for report in reports:
        for t in report.totals.values():
            assert t.garbled == 0, t.errors


def test_inside_an_answer_late_corrections_are_rare_at_50_and_100_tokens_per_second(
    reports: list[cb.CorrectionsReport],
) -> None:
    inside = reports[1]
    for split in cb.SPLITS:
        for timing in ("50", "100"):
            assert inside.totals[(split, timing)].late_rate <= 0.05


@pytest.mark.parametrize(
    ("case_id", "visible"),
    [
        ("downloads-documents", "It's in Documents."),
        ("call-five-six", "~~Call me at five.~~ Sorry, I meant six."),
        ("double-check-12", None),
        ("refusal-contents", None),
        ("bats-blind", None),
        ("tutor-original", None),
        ("quoted-wait-she-said", None),
    ],
)
def test_the_issue_examples(case_id: str, visible: str | None) -> None:
    case = next(c for c in CASES if c.id == case_id)
    run = cb.run_case(case, "once")
    assert run.visible == (visible if visible is not None else case.text)
    assert not run.garbled


@settings(max_examples=150, deadline=None)
@given(
    index=st.integers(0, len(CASES) - 1),
    cuts=st.lists(st.integers(1, 200), max_size=20),
    gaps=st.lists(st.floats(0.0, 0.08), min_size=21, max_size=21),
)
def test_any_chunking_and_pace_gives_the_same_call_and_never_garbles(
    index: int, cuts: list[int], gaps: list[float]
) -> None:
    case = CASES[index]
    text = case.text
    bounds = sorted({0, len(text), *(c for c in cuts if c < len(text))})
    t, events = 0.0, []
    for (a, b), gap in zip(itertools.pairwise(bounds), gaps, strict=False):
        t += gap
        events.append(TimedEvent(t, TextDelta(text[a:b])))
    events.append(TimedEvent(t + 0.001, End()))
    stage = CommitStage("replace")
    pieces = commit_pieces(stage, events)
    once = cb.run_case(case, "once")
    assert (stage.stats.corrections + stage.stats.late_corrections > 0) == once.detected
    revisions = tuple(p.piece for p in pieces if isinstance(p.piece, Revision))
    visible = cb._visible(pieces)
    reasoning = "".join(getattr(p.piece, "text", "") for p in pieces if type(p.piece).__name__ == "Reasoning")
    assert cb.garbled(case, visible, revisions, reasoning) == []
    if not stage.stats.late_corrections:
        assert visible == once.visible  # in time, exactly what the whole text gives
    committed = "".join(p.piece.text for p in pieces if isinstance(p.piece, Committed))
    for late in (p.piece for p in pieces if isinstance(p.piece, LateRevision)):
        assert committed[late.start : late.at].strip() == late.original  # the mark names the shown span


def test_the_commit_bench_prints_the_corpus_on_a_default_run_only(tmp_path: pytest.TempPathFactory) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main({"commit": True, "policies": ["replace"], "summary": True, "split": "heldout"}, out, err) == 0
    text = out.getvalue()
    assert "corrections corpus, as written" in text and "corrections corpus, after the lead" in text
    rows = [line.split() for line in text.splitlines() if line.split()[1:2] and line.split()[1] in cb.TIMINGS]
    assert len(rows) == 2 * len(cb.TIMINGS) and {row[0] for row in rows} == {"heldout"}

    trace = tmp_path / "t.jsonl"  # type: ignore[operator]
    trace.write_text('{"t": 0.1, "text": "Hi."}\n{"t": 0.2, "end": true}\n', encoding="utf-8")
    out = io.StringIO()
    assert main({"commit": True, "policies": ["replace"], "traces": [str(trace)]}, out, io.StringIO()) == 0
    assert "corrections corpus" not in out.getvalue()  # a TRACE run prints what it always printed

    out = io.StringIO()
    assert main({"commit": True, "policies": ["replace"], "json": True, "split": "tuning"}, out, io.StringIO()) == 0
    data = json.loads(out.getvalue())
    assert [c["lead"] for c in data["corrections"]] == ["", cb.LEAD]
    assert set(data["corrections"][0]["totals"]) == {f"tuning/{t}" for t in cb.TIMINGS}


@pytest.mark.parametrize("lead", ["", cb.LEAD])
def test_every_late_mark_names_the_shown_span_of_the_sentence_it_revises(lead: str) -> None:
    marks = 0
    for case in CASES:
        text = case.with_lead(lead).text if lead else case.text
        for timing in ("words", "20", "50", "100"):
            pieces = commit_pieces(CommitStage("replace"), cb.arrivals(text, timing, seed=case.id))
            committed = "".join(p.piece.text for p in pieces if isinstance(p.piece, Committed))
            for late in (p.piece for p in pieces if isinstance(p.piece, LateRevision)):
                marks += 1
                assert committed[late.start : late.at].strip() == late.original, (case.id, timing)
                assert case.retracted is None or late.original.endswith(case.retracted.lstrip("- "))
    assert marks > 50
