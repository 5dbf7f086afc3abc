"""Property tests: random documents cut at random points behave like json.loads, stably."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamui.pipeline.partial_json import PartialJSONError, PartialJSONParser

from ._json_checks import check_stream, chunked, cut, same

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=25,
)


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A serialized value in one of the shapes models produce (compact, indented, ASCII-escaped)."""
    value = draw(json_values)
    indent = draw(st.sampled_from([None, 0, 2, "\t"]))
    separators = draw(st.sampled_from([None, (",", ":"), (" , ", " : ")]))
    text = json.dumps(value, indent=indent, separators=separators, ensure_ascii=draw(st.booleans()))
    return draw(st.sampled_from(["", " ", "\n", "\r\n\t "])) + text + draw(st.sampled_from(["", " ", "\n"]))


@st.composite
def split_documents(draw: st.DrawFn) -> tuple[str, list[str]]:
    text = draw(documents())
    points = draw(st.lists(st.integers(min_value=0, max_value=len(text)), max_size=40))
    return text, cut(text, points)


@SETTINGS
@given(split_documents())
def test_random_cuts_give_json_loads_value_and_stable_snapshots(case: tuple[str, list[str]]) -> None:
    text, chunks = case
    assert "".join(chunks) == text
    assert same(check_stream(chunks), json.loads(text))


@SETTINGS
@given(documents(), st.sampled_from([1, 2, 3, 7]))
def test_every_fixed_chunk_size_keeps_the_rules(text: str, size: int) -> None:
    assert same(check_stream(chunked(text, size)), json.loads(text))


def _reference(text: str) -> tuple[bool, Any]:
    def refuse(name: str) -> Any:
        raise ValueError(name)

    try:
        return True, json.loads(text, parse_constant=refuse)
    except ValueError:
        return False, None


def _ours(chunks: list[str]) -> tuple[bool, Any, int | None]:
    parser = PartialJSONParser()
    try:
        for chunk in chunks:
            parser.feed(chunk)
        return True, parser.close(), None
    except PartialJSONError as exc:
        return False, None, exc.offset


@st.composite
def damaged_documents(draw: st.DrawFn) -> str:
    """A document with a few characters inserted, deleted or replaced: often invalid, sometimes not."""
    text = draw(documents())
    alphabet = st.sampled_from(list('{}[]:,"\\ \t\nx0123456789-+.eEtrufalsn\x00\x1f\u00e9'))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        k = draw(st.integers(min_value=0, max_value=len(text)))
        edit = draw(st.sampled_from(["insert", "delete", "replace"]))
        if edit == "insert":
            text = text[:k] + draw(alphabet) + text[k:]
        elif edit == "delete":
            text = text[:k] + text[k + 1 :]
        else:
            text = text[:k] + draw(alphabet) + text[k + 1 :]
    return text


@SETTINGS
@given(damaged_documents(), st.lists(st.integers(min_value=0, max_value=400), max_size=30))
def test_damaged_documents_agree_with_json_loads(text: str, points: list[int]) -> None:
    ok, expected = _reference(text)
    whole = _ours([text])
    pieces = _ours(cut(text, points))
    assert whole[0] == ok and pieces[0] == ok, (whole, ok)
    if ok:
        assert same(whole[1], expected) and same(pieces[1], expected)
        return
    # The fault is found at the same character however the text was cut ...
    assert whole[2] == pieces[2]
    offset = whole[2]
    assert offset is not None
    # ... and it is the first bad one: everything before it feeds without complaint,
    # and the character at it is refused as soon as it arrives.
    parser = PartialJSONParser()
    parser.feed(text[:offset])
    if offset < len(text):
        try:
            parser.feed(text[offset])
        except PartialJSONError as exc:
            assert exc.offset == offset
        else:
            raise AssertionError("the character at the reported offset was accepted")
