from __future__ import annotations

import pytest

from streamui.pipeline.corrections import (
    DEFAULT_OPENERS,
    PENDING,
    POLICIES,
    AnnotatePolicy,
    FoundCorrection,
    OpenerMatch,
    PassthroughPolicy,
    PhraseDetector,
    ReplacePolicy,
    capitalize_first_word,
    make_policy,
    policy_names,
)

detector = PhraseDetector()


@pytest.mark.parametrize("opener", DEFAULT_OPENERS)
def test_each_default_opener_matches_with_a_following_word(opener: str) -> None:
    text = opener + " it is Canberra."
    found = detector.detect(text, final=False)
    assert isinstance(found, OpenerMatch)
    assert found.opener == opener
    assert text[found.end :] == " it is Canberra."


@pytest.mark.parametrize("opener", DEFAULT_OPENERS)
def test_each_default_opener_is_pending_on_every_proper_prefix(opener: str) -> None:
    for n in range(1, len(opener)):
        assert detector.detect(opener[:n], final=False) == PENDING, opener[:n]
        assert detector.detect(opener[:n], final=True) is None


@pytest.mark.parametrize("opener", DEFAULT_OPENERS)
def test_case_insensitive(opener: str) -> None:
    for variant in (opener.lower(), opener.upper()):
        found = detector.detect(variant + " x", final=False)
        assert isinstance(found, OpenerMatch) and found.opener == variant


def test_whitespace_runs_inside_an_opener() -> None:
    found = detector.detect("Sorry,\n  I was wrong", final=False)
    assert isinstance(found, OpenerMatch) and found.opener == "Sorry,\n  I"


@pytest.mark.parametrize(
    "text", ["I meant to say", "Actually it is", "Waiting, then", "I meaning", "Corrections: none"]
)
def test_not_an_opener(text: str) -> None:
    assert detector.detect(text, final=False) is None


def test_word_opener_needs_a_boundary_or_the_end() -> None:
    assert detector.detect("I mean", final=False) == PENDING
    found = detector.detect("I mean", final=True)
    assert isinstance(found, OpenerMatch) and found.end == len("I mean")
    assert detector.detect("I mean's", final=False) is None


def test_only_at_the_start() -> None:
    assert detector.detect("So, actually, yes", final=False) is None


def test_longest_opener_wins_and_waits_for_it() -> None:
    d = PhraseDetector(["Wait,", "Wait, no,"])
    assert d.detect("Wait, n", final=False) == PENDING
    found = d.detect("Wait, no, it is", final=False)
    assert isinstance(found, OpenerMatch) and found.opener == "Wait, no,"
    found = d.detect("Wait, it is", final=False)
    assert isinstance(found, OpenerMatch) and found.opener == "Wait,"


def test_custom_openers_and_validation() -> None:
    d = PhraseDetector(["Oops,"])
    assert isinstance(d.detect("oops, x", final=False), OpenerMatch)
    assert d.detect("Actually, x", final=False) is None
    with pytest.raises(ValueError):
        PhraseDetector(["  "])


FOUND = FoundCorrection("The capital is Sydney.", " ", "Actually,", " ")


def test_replace_drops_phrase_and_opener() -> None:
    r = ReplacePolicy().resolve(FOUND)
    assert (r.keep, r.revised, r.struck, r.capitalize) == ("", "The capital is Sydney.", "", True)


def test_annotate_strikes_phrase_and_keeps_opener() -> None:
    r = AnnotatePolicy().resolve(FOUND)
    assert (r.keep, r.struck, r.revised) == (" Actually, ", "The capital is Sydney.", "")


def test_passthrough_detects_nothing() -> None:
    assert PassthroughPolicy.detects is False
    r = PassthroughPolicy().resolve(FOUND)
    assert r.keep == "The capital is Sydney. Actually, " and not r.struck and not r.revised


def test_registry() -> None:
    assert policy_names() == ["replace", "annotate", "passthrough"]
    assert set(POLICIES) == {"replace", "annotate", "passthrough"}
    for name in policy_names():
        assert make_policy(name).name == name
    with pytest.raises(ValueError, match=r"unknown correction policy 'nope'.*annotate, passthrough, replace"):
        make_policy("nope")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("it is", "It is"),
        ("  it is", "  It is"),
        ("iPhone sales", "iPhone sales"),
        ("x86 rules", "x86 rules"),
        ("e.g. this", "e.g. this"),
        ("it, then", "It, then"),
        ("42 it is", "42 it is"),
        ("", ""),
        ("don't", "Don't"),
    ],
)
def test_capitalize_first_word(text: str, expected: str) -> None:
    assert capitalize_first_word(text) == expected
