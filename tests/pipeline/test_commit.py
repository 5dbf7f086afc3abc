from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamui.pipeline.commit import (
    CommitStage,
    Committed,
    Piece,
    Reasoning,
    Revision,
    Struck,
    TimedPiece,
    answer_text,
)
from streamui.pipeline.corrections import LateRevision
from streamui.pipeline.virtual import commit_pieces
from streamui.upstream.events import (
    Confirm,
    DraftDelta,
    End,
    Event,
    ReasoningDelta,
    Rollback,
    TextDelta,
    ToolCallDelta,
    UpstreamError,
    Usage,
)
from streamui.upstream.traces import TimedEvent, Trace

FOREVER: dict[str, Any] = {"hold_ms": 1e9, "hold_chars": 10**9, "first_hold_ms": 1e9}
NO_LIMITS: dict[str, Any] = {**FOREVER, "sentence_hold_ms": 1e9}


CHAR_S = 0.005  # 200 characters a second: about 50 tokens a second


def run(chunks: Sequence[str], policy: str = "replace", **kwargs: Any) -> list[TimedPiece]:
    """Each chunk arrives when the previous characters would have at CHAR_S each. The first
    phrase is held like any other unless `first_hold_ms` is given (see the first-phrase tests)."""
    stage = CommitStage(policy, **{"first_hold_ms": 1e9, **kwargs})
    events = []
    sent = 0
    for chunk in chunks:
        events.append(TimedEvent(sent * CHAR_S, TextDelta(chunk)))
        sent += len(chunk)
    return commit_pieces(stage, events, end_t=sent * CHAR_S)


def shown(pieces: Sequence[Piece | TimedPiece]) -> str:
    """What a reader sees: struck text as ~~x~~, a revision mark as [revised]."""
    out: list[str] = []
    for item in pieces:
        p = item.piece if isinstance(item, TimedPiece) else item
        if isinstance(p, Committed):
            out.append(p.text)
        elif isinstance(p, Struck):
            out.append(f"~~{p.text}~~")
        elif isinstance(p, Revision):
            out.append("[revised]")
    return "".join(out)


def answer_pieces(pieces: Sequence[TimedPiece]) -> list[Piece]:
    """Answer pieces with adjacent Committed texts merged (chunking-independent form)."""
    merged: list[Piece] = []
    for item in pieces:
        p = item.piece
        if isinstance(p, Reasoning):
            continue
        if isinstance(p, Committed) and merged and isinstance(merged[-1], Committed):
            merged[-1] = Committed(merged[-1].text + p.text)
        else:
            merged.append(p)
    return merged


# --- commit points -------------------------------------------------------------------


def test_sentence_commits_once_the_next_one_starts() -> None:
    stage = CommitStage()
    stage.push(TextDelta("Hello there."), 0.0)
    assert stage.poll(0.0).pieces == ()
    stage.push(TextDelta(" "), 0.01)
    assert stage.poll(0.01).pieces == ()
    stage.push(TextDelta("The"), 0.02)
    assert stage.poll(0.02).text == "Hello there."


def test_passthrough_commits_at_the_point_without_looking_ahead() -> None:
    stage = CommitStage("passthrough")
    stage.push(TextDelta("Hello there. "), 0.0)
    assert stage.poll(0.0).text == "Hello there."


def test_decimals_and_abbreviations_are_not_sentence_ends() -> None:
    stage = CommitStage("passthrough", **FOREVER)
    stage.push(TextDelta("Pi is 3.14 and e.g. this is fine. Next"), 0.0)
    assert stage.poll(0.0).text == "Pi is 3.14 and e.g. this is fine."


def test_closing_quotes_and_emphasis_after_the_period() -> None:
    stage = CommitStage("passthrough", **FOREVER)
    stage.push(TextDelta('He said "stop." **Done.** Next'), 0.0)
    assert [p.text for p in stage.poll(0.0).pieces if isinstance(p, Committed)] == [
        'He said "stop."',
        " **Done.**",
    ]


def test_a_period_at_the_end_waits_for_the_next_character() -> None:
    stage = CommitStage("passthrough", **FOREVER)
    stage.push(TextDelta("See example."), 0.0)
    assert stage.poll(0.0).pieces == ()
    stage.push(TextDelta("com now"), 0.1)
    assert stage.poll(0.1).pieces == ()


def test_whole_sentence_is_held_past_its_clauses() -> None:
    stage = CommitStage(**FOREVER)
    stage.push(TextDelta("First, second; third: and"), 0.0)
    assert stage.poll(0.0).pieces == ()


def test_an_old_sentence_commits_at_its_clauses() -> None:
    stage = CommitStage(hold_ms=400, sentence_hold_ms=200, first_hold_ms=400)
    stage.push(TextDelta("First, second; third"), 0.0)
    out = stage.poll(0.0)
    assert out.pieces == () and out.wake_at == pytest.approx(0.2)
    out = stage.poll(0.2)
    assert out.text == "First, second;"
    assert out.wake_at == pytest.approx(0.4)


def test_sentence_hold_is_capped_by_the_hold_limit() -> None:
    stage = CommitStage(hold_ms=100, sentence_hold_ms=1000)
    stage.push(TextDelta("First, second"), 0.0)
    assert stage.poll(0.0).wake_at == pytest.approx(0.1)


def test_clauses_commit_without_sentence_holding() -> None:
    stage = CommitStage(sentence_hold_ms=0, **FOREVER)
    stage.push(TextDelta("First, second; third: and"), 0.0)
    assert [p.text for p in stage.poll(0.0).pieces if isinstance(p, Committed)] == [
        "First,",
        " second;",
        " third:",
    ]


def test_passthrough_commits_clauses() -> None:
    stage = CommitStage("passthrough", **FOREVER)
    stage.push(TextDelta("First, second"), 0.0)
    assert stage.poll(0.0).text == "First,"


def test_clauses_commit_once_the_sentence_is_partly_out() -> None:
    stage = CommitStage(hold_ms=100)
    stage.push(TextDelta("a long sentence "), 0.0)
    assert stage.poll(0.1).text == "a long sentence "
    stage.push(TextDelta("goes on, and on"), 0.15)
    assert stage.poll(0.15).text == "goes on,"


def test_newline_is_a_commit_point() -> None:
    stage = CommitStage(**FOREVER)
    stage.push(TextDelta("# Title\n"), 0.0)
    assert stage.poll(0.0).pieces == ()
    stage.push(TextDelta("Body"), 0.1)
    assert stage.poll(0.1).text == "# Title\n"


def test_cjk_punctuation() -> None:
    stage = CommitStage(sentence_hold_ms=0, **FOREVER)
    stage.push(TextDelta("你好，世界。再见"), 0.0)
    assert [p.text for p in stage.poll(0.0).pieces if isinstance(p, Committed)] == ["你好，", "世界。"]


CODE = "Intro:\n```py\nx = 1. Actually, y = 2\nz = 3\n```\nDone. Actually, it is fine."


def test_code_commits_line_by_line_and_is_never_corrected() -> None:
    pieces = run(list(CODE), **FOREVER)
    texts = [p.piece.text for p in pieces if isinstance(p.piece, Committed)]
    assert "x = 1. Actually, y = 2\n" in texts
    assert "z = 3\n" in texts
    assert shown(pieces) == "Intro:\n```py\nx = 1. Actually, y = 2\nz = 3\n```\n[revised]It is fine."


def test_code_line_is_held_until_its_newline() -> None:
    stage = CommitStage(**FOREVER)
    stage.push(TextDelta("```\nx = 1. y = 2, z"), 0.0)
    assert stage.poll(0.0).text == "```\n"


# --- hold limits ---------------------------------------------------------------------


def test_time_limit_commits_up_to_the_last_whitespace() -> None:
    stage = CommitStage(hold_ms=400, first_hold_ms=400)
    stage.push(TextDelta("no punctuation at all"), 0.0)
    out = stage.poll(0.0)
    assert out.pieces == () and out.wake_at == pytest.approx(0.4)
    stage.push(TextDelta(" he"), 0.3)
    out = stage.poll(0.4)
    assert out.text == "no punctuation at all "
    assert out.wake_at == pytest.approx(0.7)
    assert stage.stats.holds[-1].forced and stage.stats.holds[-1].hold == pytest.approx(0.4)


def test_time_limit_commits_a_word_that_waited_too_long() -> None:
    stage = CommitStage(hold_ms=400)
    stage.push(TextDelta("supercalifragilistic"), 0.0)
    assert stage.poll(0.4).text == "supercalifragilistic"


def test_char_limit() -> None:
    stage = CommitStage(hold_chars=10, hold_ms=1e9)
    stage.push(TextDelta("abc def ghi jkl"), 0.0)
    out = stage.poll(0.0)
    assert out.text == "abc def ghi "
    assert out.wake_at is not None


def test_wake_at_is_none_when_nothing_is_held() -> None:
    stage = CommitStage()
    assert stage.poll(0.0).wake_at is None
    stage.push(DraftDelta("draft"), 0.0)
    assert stage.poll(0.0).wake_at is None


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(alphabet="ab .,\nAW", max_size=80),
    cuts=st.lists(st.integers(0, 80), max_size=12),
    gaps=st.lists(st.floats(0.0, 0.5), min_size=13, max_size=13),
    policy=st.sampled_from(["replace", "annotate", "passthrough"]),
)
def test_no_character_is_held_longer_than_the_limit(
    text: str, cuts: list[int], gaps: list[float], policy: str
) -> None:
    bounds = sorted({0, len(text), *(c for c in cuts if c <= len(text))})
    chunks = [text[a:b] for a, b in itertools.pairwise(bounds)]
    t = 0.0
    events = []
    for chunk, gap in zip(chunks, gaps, strict=False):
        t += gap
        events.append(TimedEvent(t, TextDelta(chunk)))
    stage = CommitStage(policy, hold_ms=150, hold_chars=30, detector=None)
    pieces = commit_pieces(stage, events, end_t=t + 1.0)
    assert all(h.hold <= 0.150 + 1e-9 for h in stage.stats.holds)
    if policy == "passthrough":
        assert answer_text(pieces) == text


# --- drafts --------------------------------------------------------------------------


def test_draft_is_never_shown_until_confirmed() -> None:
    stage = CommitStage("passthrough")
    stage.push(DraftDelta("Hello world. The end. "), 0.0)
    assert stage.poll(5.0).pieces == ()
    stage.push(Confirm(), 5.0)
    assert stage.poll(5.0).text == "Hello world. The end."


DRAFT = "The answer is 42. Next, "


@pytest.mark.parametrize("n", range(len(DRAFT) + 3))
def test_rollback_at_every_position(n: int) -> None:
    events: list[Event] = [
        TextDelta("Start. "),
        DraftDelta(DRAFT[:10]),
        DraftDelta(DRAFT[10:]),
        Rollback(n),
        DraftDelta("Z."),
        Confirm(),
        TextDelta(" Tail."),
        End(),
    ]
    timed = [TimedEvent(i * 0.02, e) for i, e in enumerate(events)]
    stage = CommitStage("passthrough")
    pieces = commit_pieces(stage, timed)
    kept = DRAFT[: max(0, len(DRAFT) - n)]
    assert answer_text(pieces) == "Start. " + kept + "Z. Tail." == Trace("t", timed).text
    assert stage.stats.rollback_overflow == max(0, n - len(DRAFT))
    # Nothing rolled back was ever emitted, not even for a moment.
    emitted_before_confirm = [p for p in pieces if p.t < 5 * 0.02]
    assert answer_text(emitted_before_confirm) in ("", "Start.", "Start. ")


def test_unconfirmed_draft_is_dropped_at_the_end() -> None:
    stage = CommitStage()
    stage.push(TextDelta("Kept."), 0.0)
    stage.push(DraftDelta(" maybe"), 0.1)
    stage.push(End(), 0.2)
    out = stage.poll(0.2)
    assert out.done and out.text == "Kept."
    assert stage.stats.discarded_draft_chars == len(" maybe")


def test_confirmed_text_arrives_at_confirm_time() -> None:
    stage = CommitStage("passthrough", hold_ms=100)
    stage.push(DraftDelta("word"), 0.0)
    stage.push(Confirm(), 1.0)
    out = stage.poll(1.0)
    assert out.pieces == () and out.wake_at == pytest.approx(1.1)
    assert stage.stats.first_answer_arrival_at == 1.0


_draft_events = st.lists(
    st.one_of(
        st.builds(TextDelta, st.text(alphabet="ab. \n", max_size=6)),
        st.builds(DraftDelta, st.text(alphabet="xy. \n", max_size=6)),
        st.builds(Rollback, st.integers(0, 8)),
        st.just(Confirm()),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(events=_draft_events)
def test_drafts_resolve_like_the_trace_says(events: list[Event]) -> None:
    timed = [TimedEvent(i * 0.01, e) for i, e in enumerate(events)]
    for policy in ("passthrough", "replace"):
        pieces = commit_pieces(CommitStage(policy, hold_ms=30), timed, end_t=len(events) * 0.01)
        assert answer_text(pieces) == Trace("t", timed).text


# --- self-corrections ----------------------------------------------------------------


# Openers the default detector takes back on their own in this sentence (issue 10's list).
OPENERS = (
    "Actually,", "Wait,", "Correction:", "Correction—", "Let me reconsider:", "I mean,", "Sorry, I misspoke:",
    "No wait,", "Scratch that,", "On second thought,", "I apologize,", "Oops,", "Let me correct myself:",
    "I was wrong:",
)


def correction_text(opener: str) -> str:
    return f"Intro here. The capital is Sydney. {opener} the capital is Canberra. Bye."


@pytest.mark.parametrize("opener", OPENERS)
@pytest.mark.parametrize("chunking", ["whole", "chars"])
def test_replace_each_opener(opener: str, chunking: str) -> None:
    text = correction_text(opener)
    pieces = run([text] if chunking == "whole" else list(text))
    assert shown(pieces) == "Intro here. [revised]The capital is Canberra. Bye."
    revisions = [p.piece for p in pieces if isinstance(p.piece, Revision)]
    assert revisions == [Revision("The capital is Sydney.", opener, len("Intro here. "))]


@pytest.mark.parametrize("opener", OPENERS)
def test_annotate_each_opener(opener: str) -> None:
    pieces = run(list(correction_text(opener)), "annotate")
    assert shown(pieces) == f"Intro here. ~~The capital is Sydney.~~ {opener} the capital is Canberra. Bye."
    struck = [p.piece for p in pieces if isinstance(p.piece, Struck)]
    assert struck == [Struck("The capital is Sydney.", len("Intro here. "))]


@pytest.mark.parametrize("opener", OPENERS)
def test_passthrough_each_opener(opener: str) -> None:
    text = correction_text(opener)
    pieces = run(list(text), "passthrough")
    assert shown(pieces) == text
    assert not any(isinstance(p.piece, (Struck, Revision)) for p in pieces)


def test_lower_case_opener_on_a_new_line() -> None:
    pieces = run(list("It is 5.\nactually, it is 6.\n"))
    assert shown(pieces) == "[revised]It is 6.\n"


def test_corrected_phrase_was_never_emitted() -> None:
    stage = CommitStage(**FOREVER)
    seen = ""
    for i, ch in enumerate("The capital is Sydney. Actually, it is Canberra."):
        stage.push(TextDelta(ch), i * 0.01)
        seen += stage.poll(i * 0.01).text
    stage.finish(1.0)
    seen += stage.poll(1.0).text
    assert "Sydney" not in seen and seen == "It is Canberra."


TEXT = "Intro here. The capital, I think, is Sydney. Actually, it is Canberra. Bye."


@pytest.mark.parametrize("cut", range(1, len(TEXT)))
def test_split_anywhere_including_inside_the_opener(cut: int) -> None:
    pieces = run([TEXT[:cut], TEXT[cut:]], **NO_LIMITS)
    assert shown(pieces) == "Intro here. [revised]It is Canberra. Bye."


@settings(max_examples=80, deadline=None)
@given(cuts=st.lists(st.integers(1, len(TEXT) - 1), max_size=15))
def test_result_does_not_depend_on_chunking_without_limits(cuts: list[int]) -> None:
    bounds = sorted({0, len(TEXT), *cuts})
    chunks = [TEXT[a:b] for a, b in itertools.pairwise(bounds)]
    for policy in ("replace", "annotate", "passthrough"):
        assert answer_pieces(run(chunks, policy, **NO_LIMITS)) == answer_pieces(
            run([TEXT], policy, **NO_LIMITS)
        )


def test_whole_sentence_with_clauses_is_revised() -> None:
    revisions = [p.piece for p in run(list(TEXT)) if isinstance(p.piece, Revision)]
    assert [r.original for r in revisions] == ["The capital, I think, is Sydney."]


def test_opener_after_the_sentence_was_committed_is_shown_as_written() -> None:
    stage = CommitStage(hold_ms=400)
    stage.push(TextDelta("The capital is Sydney."), 0.0)
    assert stage.poll(0.4).text == "The capital is Sydney."
    stage.push(TextDelta(" Actually, it is Canberra. "), 0.6)
    stage.finish(0.7)
    out = stage.poll(0.7)
    assert out.text == " Actually, it is Canberra. " and out.done
    assert stage.stats.corrections == 0
    assert stage.stats.late_corrections == 1
    assert [p for p in out.pieces if isinstance(p, LateRevision)] == [
        LateRevision("The capital is Sydney.", "Actually,", len("The capital is Sydney."), 0)
    ]


def test_opener_after_a_partly_committed_sentence_is_late() -> None:
    # Nothing shown is taken back: the shown sentence stays, marked as revised, and the
    # correction follows as written.
    pieces = run(list("So, the capital is Sydney. Actually, it is Canberra."), sentence_hold_ms=0)
    assert shown(pieces) == "So, the capital is Sydney.[revised] Actually, it is Canberra."
    late = [p.piece for p in pieces if isinstance(p.piece, LateRevision)]
    assert late == [LateRevision("So, the capital is Sydney.", "Actually,", 26, 0)]


def test_late_correction_is_counted() -> None:
    stage = CommitStage(sentence_hold_ms=0, **FOREVER)
    stage.push(TextDelta("So, it is Sydney. Actually, it is Canberra."), 0.0)
    stage.finish(0.1)
    stage.poll(0.1)
    assert stage.stats.late_corrections == 1 and stage.stats.corrections == 0


def test_opener_at_the_start_corrects_nothing() -> None:
    assert shown(run(list("Actually, I think so. Fine."))) == "Actually, I think so. Fine."


def test_opener_with_nothing_after_it_corrects_nothing() -> None:
    assert shown(run(list("It is 4. Actually,"))) == "It is 4. Actually,"


def test_not_an_opener_commits() -> None:
    assert shown(run(list("It is 4. I meant that. Ok."))) == "It is 4. I meant that. Ok."


def test_list_item_keeps_its_marker() -> None:
    pieces = run(list("- The capital is Sydney. Actually, it is Canberra.\n- Next\n"))
    assert shown(pieces) == "- [revised]It is Canberra.\n- Next\n"


def test_a_correction_can_itself_be_corrected() -> None:
    pieces = run(list("It is 4. Wait, it is 5. Actually, it is 6. Ok."))
    assert shown(pieces) == "[revised][revised]It is 6. Ok."
    assert [p.piece.original for p in pieces if isinstance(p.piece, Revision)] == ["It is 4.", "it is 5."]


def test_custom_detector() -> None:
    from streamui.pipeline.corrections import PhraseDetector

    pieces = run(list("It is 4. Oops, 5. Actually, 6."), detector=PhraseDetector(["Oops,"]))
    assert shown(pieces) == "[revised]5. Actually, 6."


def test_dropped_chars_are_counted() -> None:
    stage = CommitStage(**FOREVER)
    stage.push(TextDelta("It is 4. Actually, it is 5."), 0.0)
    stage.finish(0.0)
    stage.poll(0.0)
    assert stage.stats.dropped_chars == len("It is 4. Actually, ")


# --- reasoning -----------------------------------------------------------------------


def test_reasoning_deltas_go_out_at_once_and_apart() -> None:
    stage = CommitStage()
    stage.push(ReasoningDelta("Let me think"), 0.1)
    stage.push(ReasoningDelta("..."), 0.2)
    out = stage.poll(0.2)
    assert out.pieces == (Reasoning("Let me think"), Reasoning("...")) and out.text == ""
    stage.push(TextDelta("Four. "), 0.5)
    stage.push(TextDelta("Done"), 0.6)
    out = stage.poll(0.6)
    assert out.text == "Four." and out.reasoning == ""
    assert stage.stats.first_reasoning_at == 0.1
    assert stage.stats.last_reasoning_at == 0.2
    assert stage.stats.first_answer_arrival_at == 0.5
    assert stage.stats.first_answer_at == 0.6


def test_think_tags_in_content_are_split_out() -> None:
    pieces = run(list("<think>\nhmm, 2+2. Actually, 4.\n</think>\n\nIt is 4. Done."), **FOREVER)
    reasoning = "".join(p.piece.text for p in pieces if isinstance(p.piece, Reasoning))
    assert reasoning == "\nhmm, 2+2. Actually, 4.\n"
    assert shown(pieces) == "It is 4. Done."


def test_think_in_a_confirmed_draft() -> None:
    events: list[Event] = [DraftDelta("<think>r</think>"), Confirm(), TextDelta("A."), End()]
    pieces = commit_pieces(CommitStage(), [TimedEvent(i, e) for i, e in enumerate(events)])
    assert [p.piece for p in pieces] == [Reasoning("r"), Committed("A.")]


# --- the stream's end and other events -------------------------------------------------


@pytest.mark.parametrize("ending", [End(), UpstreamError("boom", "dropped")])
def test_end_and_error_commit_everything(ending: Event) -> None:
    stage = CommitStage()
    stage.push(TextDelta("Half a sent"), 0.0)
    stage.push(ending, 0.1)
    out = stage.poll(0.1)
    assert out.done and out.text == "Half a sent"
    stage.push(TextDelta("late"), 0.2)
    assert stage.poll(0.2).pieces == ()


def test_other_events_are_ignored() -> None:
    stage = CommitStage()
    stage.push(ToolCallDelta(0, "c1", "f", "{}"), 0.0)
    stage.push(Usage(1, 2), 0.0)
    assert stage.poll(0.0) .pieces == ()


def test_hold_records_cover_every_shown_character() -> None:
    stage = CommitStage("annotate", **FOREVER)
    pieces = commit_pieces(stage, [TimedEvent(0.0, TextDelta(TEXT))], end_t=0.5)
    shown_chars = sum(
        len(p.piece.text) for p in pieces if isinstance(p.piece, (Committed, Struck))
    )
    assert sum(h.chars for h in stage.stats.holds) == shown_chars


@pytest.mark.parametrize(
    "kwargs",
    [{"hold_ms": -1}, {"hold_chars": 0}, {"sentence_hold_ms": -1}],
)
def test_bad_limits(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        CommitStage(**kwargs)


def test_unknown_policy() -> None:
    with pytest.raises(ValueError, match="unknown correction policy"):
        CommitStage("strike")


def test_text_arriving_at_a_hold_deadline_is_judged_with_it_in_the_pipeline() -> None:
    # Tokens at 100 a second: the 100 ms first-phrase limit falls on the very instant " Tuesday"
    # arrives. Judged with it, the opener's correction is whole and comes in time; the timer
    # firing first would have shown "The meeting is on Monday." and marked the correction late.
    words = ["The", " meeting", " is", " on", " Monday", ".", " Correction", "—it", "'s", " on", " Tuesday", "."]
    events = [TimedEvent(round(i * 0.01, 6), TextDelta(w)) for i, w in enumerate(words)]
    stage = CommitStage()
    pieces = commit_pieces(stage, [*events, TimedEvent(0.111, End())])
    assert stage.stats.late_corrections == 0 and stage.stats.corrections == 1
    assert answer_text(pieces) == "It's on Tuesday."
