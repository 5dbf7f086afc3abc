"""The default correction detector: context rules, timing independence, never raising."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamui.pipeline.commit import CommitStage
from streamui.pipeline.correction_rules import RuleDetector
from streamui.pipeline.corrections import PENDING, LateRevision, OpenerMatch, Revision, Struck
from streamui.pipeline.virtual import commit_pieces
from streamui.upstream.events import TextDelta
from streamui.upstream.traces import TimedEvent
from tools.bench.corrections_bench import load_corpus

DETECTOR = RuleDetector()
CASES = load_corpus()
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def judge(previous: str, text: str) -> OpenerMatch | None:
    found = DETECTOR.detect(text, final=True, previous=previous)
    assert found != PENDING
    return found if isinstance(found, OpenerMatch) else None


@pytest.mark.parametrize(
    ("previous", "text", "opener"),
    [
        ("The meeting is on Monday.", "Correction—it's on Tuesday.", "Correction—"),
        ("The train leaves at 9:15.", "No wait, it leaves at 9:45.", "No wait,"),
        ("Use port 8000.", "Scratch that, use 8080.", "Scratch that,"),
        ("Use a cookie.", "On second thought, a table is safer.", "On second thought,"),
        ("It returns a list.", "I apologize, it returns a generator, not a list.", "I apologize,"),
        ("Press Ctrl+S.", "Oops, I meant Ctrl+O.", "Oops, I meant"),
        ("3.8 added it.", "Let me correct myself: it was 3.10.", "Let me correct myself:"),
        ("Both are abandoned.", "I was wrong about both: each had a release.", "I was wrong about both:"),
        ("The file is in Downloads.", "I mean, it's in Documents.", "I mean,"),
        ("Call me at five.", "Sorry, I meant six.", "Sorry, I meant"),
        ("The limit is 100.", "I apologize for the confusion: it is 60.", "I apologize for the confusion:"),
    ],
)
def test_real_openers_are_found_with_their_punctuation(previous: str, text: str, opener: str) -> None:
    found = judge(previous, text)
    assert found is not None and found.opener == opener
    assert text[found.end :].lstrip()[:1] not in ",;:—–-"


@pytest.mark.parametrize(
    ("previous", "text"),
    [
        ("The answer is 12.", "Wait, let me double-check."),  # s1 budget forcing: a check
        ("That file is private.", "Sorry, I can't share its contents."),  # a refusal
        ("Most people assume bats are blind.", "Actually, all bat species can see."),  # myth-busting
        ("Original: She go to school.", "Correction: She goes to school."),  # the user's text
        ("The stadium is huge.", "I mean, really huge."),  # an intensifier
        ("Start the build.", "Wait for it to finish."),  # an instruction
        ("She stopped.", '"Wait," she said.'),  # quoted speech
        ("Call `retry()` here.", "`Wait,` in the log means idle."),  # inline code
        ("Is Sydney the capital?", "No, it is Canberra."),  # an answer to a question
        ("Your order was delayed.", "I apologize for the inconvenience."),
        ("That's a great question.", "Actually, it's one of the most common."),
    ],
)
def test_look_alikes_retract_nothing(previous: str, text: str) -> None:
    assert judge(previous, text) is None


def test_a_fragment_correction_is_flagged() -> None:
    found = judge("Call me at five.", "Sorry, I meant six.")
    assert found is not None and found.fragment
    found = judge("The file is in Downloads.", "I mean, it's in Documents.")
    assert found is not None and not found.fragment


def _pairs() -> list[tuple[str, str]]:
    pairs = []
    for case in CASES:
        sentences = _SENTENCE.split(case.answer)
        pairs.extend(zip(sentences, [" ".join(sentences[i + 1 :]) for i in range(len(sentences))], strict=True))
    return [(p, n) for p, n in pairs if n]


PAIRS = _pairs()


@pytest.mark.parametrize(("previous", "text"), PAIRS)
def test_a_decision_on_a_prefix_is_the_decision_on_the_whole(previous: str, text: str) -> None:
    # What makes the stage's call independent of arrival timing: once the detector decides on
    # part of the text, more text never changes its mind.
    whole = DETECTOR.detect(text, final=True, previous=previous)
    for k in range(len(text)):
        part = DETECTOR.detect(text[:k], final=False, previous=previous)
        assert part in (PENDING, whole), (k, text[:k])


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60), previous=st.text(max_size=40), final=st.booleans())
def test_the_detector_never_raises(text: str, previous: str, final: bool) -> None:
    found = DETECTOR.detect(text, final=final, previous=previous)
    assert found is None or found == PENDING or isinstance(found, OpenerMatch)
    if final:
        assert found != PENDING


class Broken:
    def detect(self, text: str, *, final: bool, previous: str = "") -> None:
        raise RuntimeError("boom")


def test_a_detector_that_raises_never_breaks_the_stream() -> None:
    stage = CommitStage(detector=Broken())  # type: ignore[arg-type]
    pieces = commit_pieces(stage, [TimedEvent(0.0, TextDelta("It is 4. Actually, it is 5."))])
    assert "".join(p.piece.text for p in pieces if hasattr(p.piece, "text")) == "It is 4. Actually, it is 5."
    assert stage.stats.detector_errors > 0


class Legacy:
    """A detector written for the old protocol, without `previous`."""

    def detect(self, text: str, *, final: bool) -> OpenerMatch | None:
        return OpenerMatch("Oops,", 5) if text.startswith("Oops,") else None


def test_a_detector_without_previous_still_works() -> None:
    stage = CommitStage(detector=Legacy(), first_hold_ms=1e9)  # type: ignore[arg-type]
    pieces = commit_pieces(stage, [TimedEvent(0.0, TextDelta("It is 4. Oops, it is 5."))])
    assert [p.piece.original for p in pieces if isinstance(p.piece, Revision)] == ["It is 4."]


def test_corrections_in_reasoning_stay_as_they_are() -> None:
    text = "<think>The sum is 11. Wait, 5 + 7 is 12, not 11.</think>The answer is 12."
    pieces = commit_pieces(CommitStage(), [TimedEvent(0.0, TextDelta(text))])
    reasoning = "".join(p.piece.text for p in pieces if type(p.piece).__name__ == "Reasoning")
    assert reasoning == "The sum is 11. Wait, 5 + 7 is 12, not 11."
    assert not any(isinstance(p.piece, (Revision, Struck)) for p in pieces)


def test_the_first_phrase_shows_within_first_hold_ms_and_a_late_correction_is_marked() -> None:
    words = ["The", "capital", "of", "Australia", "is", "Sydney.", "Actually,", "it", "is", "Canberra."]
    events = [TimedEvent(i * 0.02, TextDelta(("" if i == 0 else " ") + w)) for i, w in enumerate(words)]
    stage = CommitStage()
    pieces = commit_pieces(stage, events)
    assert stage.stats.first_answer_at == pytest.approx(0.1)  # first_hold_ms, not a whole sentence
    late = [p.piece for p in pieces if isinstance(p.piece, LateRevision)]
    assert [r.original for r in late] == ["The capital of Australia is Sydney."]
    assert stage.stats.late_corrections == 1 and stage.stats.dropped_chars == 0
    shown = "".join(p.piece.text for p in pieces if type(p.piece).__name__ == "Committed")
    assert shown == " ".join(words)  # nothing shown was removed
