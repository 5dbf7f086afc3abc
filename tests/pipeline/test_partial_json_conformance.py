"""JSONTestSuite's test_parsing (vendored under tests/fixtures, MIT): y_ parse, n_ fail, i_ as json.loads.

A test file is bytes; like json.loads(bytes) the harness decodes it first (the detected
UTF-8/16/32 encoding, surrogatepass), so invalid UTF-8 is rejected by that decoder, as
by json.loads, before the parser sees any text. Every decodable file is then fed whole
and in chunks of 1, 2, 3 and 7 characters.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streamui.pipeline.partial_json import PartialJSONError, PartialJSONParser

from ._json_checks import chunked, same

SUITE = Path(__file__).resolve().parents[1] / "fixtures" / "JSONTestSuite" / "test_parsing"
FILES = sorted(p.name for p in SUITE.glob("*.json"))
SIZES = ["whole", 1, 2, 3, 7]


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not RFC 8259 JSON")


def reference(raw: bytes) -> tuple[bool, Any]:
    """json.loads' verdict, with NaN/Infinity refused as RFC 8259 (and this parser) refuse them."""
    try:
        return True, json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return False, None


def decode(raw: bytes) -> str | None:
    try:
        return raw.decode(json.detect_encoding(raw), "surrogatepass")
    except UnicodeDecodeError:
        return None


def parse(text: str, size: int | str) -> Any:
    parser = PartialJSONParser()
    for chunk in chunked(text, len(text) or 1) if size == "whole" else chunked(text, int(size)):
        parser.feed(chunk)
    return parser.close()


def test_the_suite_is_vendored() -> None:
    assert len(FILES) == 318
    assert (SUITE.parent / "LICENSE").read_text().startswith("MIT License")
    assert sum(name.startswith("y_") for name in FILES) == 95
    assert sum(name.startswith("n_") for name in FILES) == 188


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", FILES)
def test_file(name: str, size: int | str) -> None:
    raw = (SUITE / name).read_bytes()
    ok, expected = reference(raw)
    text = decode(raw)
    if name.startswith("y_"):
        assert ok and text is not None
    if text is None:  # invalid UTF-8: refused before parsing, by json.loads too
        assert not ok and not name.startswith("y_")
        return
    try:
        got = parse(text, size)
    except PartialJSONError as exc:
        assert not ok, f"json.loads accepts it, we fail: {exc}"
        assert not name.startswith("y_")
        assert 0 <= exc.offset <= len(text)
        return
    assert ok, f"accepted {got!r} but json.loads refuses it"
    assert not name.startswith("n_")
    assert same(got, expected)


@pytest.mark.parametrize("name", [n for n in FILES if n.startswith(("n_", "i_"))])
def test_failure_is_reported_on_the_offending_character(name: str) -> None:
    """Fed one character at a time, feed() raises exactly on the character at `offset`;
    an input that is only unfinished raises at close(), with offset == its length."""
    raw = (SUITE / name).read_bytes()
    text = decode(raw)
    if text is None:  # refused before parsing, as json.loads refuses it
        assert reference(raw) == (False, None)
        return
    parser = PartialJSONParser()
    for k, char in enumerate(text):
        try:
            parser.feed(char)
        except PartialJSONError as exc:
            assert exc.offset == k
            whole = PartialJSONParser()
            with pytest.raises(PartialJSONError) as again:
                whole.feed(text)
            assert again.value.offset == k, "offset depends on chunking"
            return
    try:
        parser.close()
    except PartialJSONError as exc:
        assert exc.offset == len(text)


@pytest.mark.parametrize(
    "name,offset",
    [
        ("n_structure_trailing_#.json", 9),
        ("n_array_extra_close.json", 5),
        ("n_number_NaN.json", 1),
        ("n_number_minus_infinity.json", 2),
        ("n_string_unescaped_tab.json", 2),
        ("n_number_with_leading_zero.json", 2),
        ("n_structure_100000_opening_arrays.json", 512),
        ("n_structure_open_array_object.json", 5 * 256),
        ("n_incomplete_true.json", 4),
        ("n_structure_unclosed_array.json", 2),
    ],
)
def test_known_offsets(name: str, offset: int) -> None:
    text = decode((SUITE / name).read_bytes())
    assert text is not None
    with pytest.raises(PartialJSONError) as caught:
        parse(text, 3)
    assert caught.value.offset == offset, caught.value
