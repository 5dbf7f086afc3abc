"""Unit tests of the progressive partial-JSON parser: events, snapshots, errors, limits."""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path as FsPath
from typing import Any

import pytest

from streamui.pipeline.partial_json import (
    ContainerClosed,
    ItemAppended,
    KeyCompleted,
    PartialJSONError,
    PartialJSONParser,
    ScalarCompleted,
    StringGrew,
    ValueStarted,
)

from ._json_checks import check_stream, chunked, same

CHUNK_SIZES = [1, 2, 3, 7, 10_000]

RICH_DOC = (
    '{"answer": "Hel\\"lo\\n\\u00e9 \\ud83d\\ude00 w\\/orld\\\\", "confidence": 0.92, "n": -12e-3,'
    ' "sources": [{"url": "https://a.example/?q=1&r=2", "rank": 1}, {"url": "b", "tags": ["x", "", "z"]}],'
    ' "flags": [true, false, null], "empty": {}, "none": [], "big": 123456789012345678901234567890,'
    ' "nested": [[[1, [2.5e+3]]], {"k": {"k": {"k": "deep"}}}], "lone": "\\udc00\\ud800x"}'
)


def feed_all(text: str, size: int) -> tuple[PartialJSONParser, list[Any]]:
    parser = PartialJSONParser()
    events: list[Any] = []
    for chunk in chunked(text, size):
        events.extend(parser.feed(chunk))
    return parser, events


def snapshots(chunks: list[str]) -> list[Any]:
    parser = PartialJSONParser()
    out = []
    for chunk in chunks:
        parser.feed(chunk)
        out.append(copy.deepcopy(parser.value))
    return out


# -- events and snapshots ------------------------------------------------------------------


def test_event_sequence_for_a_known_stream() -> None:
    parser = PartialJSONParser()
    assert parser.feed('{"answer": "Hel') == [
        ValueStarted((), "object"),
        KeyCompleted(("answer",)),
        ValueStarted(("answer",), "string"),
        StringGrew(("answer",), "Hel"),
    ]
    assert parser.feed('lo", "confidence": 0.9') == [
        StringGrew(("answer",), "lo"),
        ScalarCompleted(("answer",), "Hello"),
        KeyCompleted(("confidence",)),
        ValueStarted(("confidence",), "number"),
    ]
    assert parser.value == {"answer": "Hello"}
    assert parser.feed('2, "sources": [{"url": "a"}, 7]}') == [
        ScalarCompleted(("confidence",), 0.92),
        KeyCompleted(("sources",)),
        ValueStarted(("sources",), "array"),
        ItemAppended(("sources", 0)),
        ValueStarted(("sources", 0), "object"),
        KeyCompleted(("sources", 0, "url")),
        ValueStarted(("sources", 0, "url"), "string"),
        StringGrew(("sources", 0, "url"), "a"),
        ScalarCompleted(("sources", 0, "url"), "a"),
        ContainerClosed(("sources", 0), {"url": "a"}),
        ItemAppended(("sources", 1)),
        ValueStarted(("sources", 1), "number"),
        ScalarCompleted(("sources", 1), 7),
        ContainerClosed(("sources",), [{"url": "a"}, 7]),
        ContainerClosed((), {"answer": "Hello", "confidence": 0.92, "sources": [{"url": "a"}, 7]}),
    ]
    assert parser.finish() == []
    assert parser.close() == {"answer": "Hello", "confidence": 0.92, "sources": [{"url": "a"}, 7]}


def test_string_growth_is_reported_once_per_chunk() -> None:
    parser = PartialJSONParser()
    events = parser.feed('"a\\nb\\tc')
    assert events == [ValueStarted((), "string"), StringGrew((), "a\nb\tc")]


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_rich_document_keeps_every_rule_at_every_chunk_size(size: int) -> None:
    assert same(check_stream(chunked(RICH_DOC, size)), json.loads(RICH_DOC))


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_events_do_not_depend_on_chunking(size: int) -> None:
    def merged(events: list[Any]) -> list[Any]:
        out: list[Any] = []
        for event in events:
            if isinstance(event, StringGrew) and out and isinstance(out[-1], StringGrew) and out[-1].path == event.path:
                out[-1] = StringGrew(event.path, out[-1].text + event.text)
            else:
                out.append(event)
        return out

    _, whole = feed_all(RICH_DOC, len(RICH_DOC))
    _, pieces = feed_all(RICH_DOC, size)
    assert merged(pieces) == merged(whole)


# -- the stability guarantees, one by one ----------------------------------------------------


def test_numbers_appear_only_when_complete() -> None:
    assert snapshots(['{"n": 1', "2", "5", ", ", '"m": -0.', "5e", "+1", "}"]) == [
        {},
        {},
        {},
        {"n": 125},
        {"n": 125},
        {"n": 125},
        {"n": 125},
        {"n": 125, "m": -5.0},
    ]


def test_top_level_number_completes_at_finish() -> None:
    parser = PartialJSONParser()
    assert parser.feed("12") == [ValueStarted((), "number")]
    assert parser.feed("5") == []
    assert not parser.has_value and parser.value is None
    assert parser.finish() == [ScalarCompleted((), 125)]
    assert parser.close() == 125


def test_top_level_number_completes_on_whitespace() -> None:
    parser = PartialJSONParser()
    parser.feed("7")
    assert parser.feed(" ") == [ScalarCompleted((), 7)]
    assert parser.done


def test_keys_appear_only_when_complete_with_their_value() -> None:
    assert snapshots(['{"ke', 'y"', ": ", '"', "v", '", "x": tr', "ue}"]) == [
        {},
        {},
        {},
        {"key": ""},
        {"key": "v"},
        {"key": "v"},
        {"key": "v", "x": True},
    ]


@pytest.mark.parametrize("literal,value", [("true", True), ("false", False), ("null", None)])
def test_literals_appear_only_when_complete(literal: str, value: Any) -> None:
    parser = PartialJSONParser()
    parser.feed("[")
    for char in literal[:-1]:
        parser.feed(char)
        assert parser.value == []
    parser.feed(literal[-1])
    assert same(parser.value, [value])


def test_null_top_level_is_told_from_nothing_yet() -> None:
    parser = PartialJSONParser()
    parser.feed("nul")
    assert not parser.has_value
    parser.feed("l")
    assert parser.has_value and parser.value is None


@pytest.mark.parametrize(
    "text,expected",
    [
        ('"ab\\u00e9c"', "ab\u00e9c"),
        ('"\\ud83d\\ude00!"', "\U0001f600!"),
        ('"x\\\\\\"\\/\\b\\f\\n\\r\\t"', 'x\\"/\b\f\n\r\t'),
        ('"\\ud800x"', "\ud800x"),
        ('"\\ud800\\n"', "\ud800\n"),
        ('"\\ud800\\u0041"', "\ud800A"),
        ('"\\ud800\\ud800\\udc00"', "\ud800\U00010000"),
        ('"\\udc00\\ud800"', "\udc00\ud800"),
    ],
)
def test_strings_never_show_half_an_escape(text: str, expected: str) -> None:
    assert json.loads(text) == expected
    for split in range(len(text) + 1):
        parser = PartialJSONParser()
        parser.feed(text[:split])
        partial = parser.value if parser.has_value else ""
        # Every partial value is exactly a prefix of the final text, whole characters only.
        assert expected.startswith(partial), (split, partial)
        parser.feed(text[split:])
        assert parser.close() == expected


def test_escaped_surrogate_pair_is_held_until_its_second_half() -> None:
    parser = PartialJSONParser()
    parser.feed('"a\\ud83d')
    assert parser.value == "a"
    parser.feed("\\ude0")
    assert parser.value == "a"
    parser.feed("0")
    assert parser.value == "a\U0001f600"


def test_value_is_live_and_strings_sync_lazily() -> None:
    parser = PartialJSONParser()
    parser.feed('{"a": ["x')
    live = parser.value
    parser.feed("yz")
    assert live == {"a": ["x"]}  # an open string is synced when `value` is read
    assert parser.value is live and live == {"a": ["xyz"]}


# -- numbers as json.loads gives them --------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["0", "-0", "1", "-1", "10", "1.0", "-0.0", "1e2", "1E+2", "1e-2", "0.5e0", "1e999", "-1e999", "1e-999",
             "123456789012345678901234567890", "2.5", "-12.75E-3"]
)
@pytest.mark.parametrize("size", [1, 100])
def test_numbers_match_json_loads(text: str, size: int) -> None:
    for doc in (text, f"[{text}]", f'{{"n":{text}}}'):
        parser, _ = feed_all(doc, size)
        assert same(parser.close(), json.loads(doc)), doc


# -- errors: at the first offending character, or at close() if only unfinished --------------

INVALID = [
    ("[1]x", 3),
    ("[01]", 2),
    ("-01", 2),
    ("[1.]", 3),
    ("[1.e5]", 3),
    ("[-]", 2),
    ("[- 1]", 2),
    ("[1e]", 3),
    ("[1e+]", 4),
    ("[.5]", 1),
    ("[+1]", 1),
    ("[1,]", 3),
    ("[,1]", 1),
    ("[1 2]", 3),
    ("{1: 2}", 1),
    ('{"a" 1}', 5),
    ('{"a": 1,}', 8),
    ('{"a": 1 "b": 2}', 8),
    ("{'a': 1}", 1),
    ('{"a": 1]', 7),
    ("[1}", 2),
    ("]", 0),
    ("[tru3]", 4),
    ("[nulL]", 4),
    ("[True]", 1),
    ("[NaN]", 1),
    ("[Infinity]", 1),
    ("[-Infinity]", 2),
    ('"\\x"', 2),
    ('"\\u12g4"', 5),
    ('"\\U0041"', 2),
    ('"a\nb"', 2),
    ('"a\tb"', 2),
    ('"a\x00"', 2),
    ("\ufeff[]", 0),
    ("[\f]", 1),
    ("[\v1]", 1),
    ("[\u00a01]", 1),
    ("[1]  [2]", 5),
    ("{} {}", 3),
    ('"a" "b"', 4),
    ("1 2", 2),
    ("nullx", 4),
    ("[1]/* c */", 3),
]


@pytest.mark.parametrize("text,offset", INVALID)
def test_invalid_input_raises_at_the_first_bad_character(text: str, offset: int) -> None:
    with pytest.raises(ValueError):  # json.loads rejects it too (NaN/Infinity aside)
        json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    parser = PartialJSONParser()
    for k, char in enumerate(text):
        if k < offset:
            parser.feed(char)
            continue
        with pytest.raises(PartialJSONError) as caught:
            parser.feed(char)
        assert caught.value.offset == offset
        assert isinstance(caught.value, ValueError)
        assert f"offset {offset}" in str(caught.value)
        return
    pytest.fail("no error while feeding")


@pytest.mark.parametrize("text,offset", INVALID)
def test_error_offset_does_not_depend_on_chunking(text: str, offset: int) -> None:
    for size in CHUNK_SIZES:
        with pytest.raises(PartialJSONError) as caught:
            feed_all(text, size)
        assert caught.value.offset == offset


@pytest.mark.parametrize(
    "text",
    ["", " ", "[", "[1", "[1,", '{"a"', '{"a":', '{"a": 1', '"abc', '"a\\', '"\\u12', '"\\ud83d', "tr", "-", "1.", "1e+",
     '{"a": [1, "x'],
)
def test_unfinished_input_raises_only_at_close(text: str) -> None:
    parser, _ = feed_all(text, 1)
    with pytest.raises(PartialJSONError) as caught:
        parser.close()
    assert caught.value.offset == len(text)
    assert "end of input" in caught.value.msg


def test_error_keeps_the_valid_events_of_the_failing_chunk_and_sticks() -> None:
    parser = PartialJSONParser()
    parser.feed('{"a": "x')
    with pytest.raises(PartialJSONError) as caught:
        parser.feed('y", "b": [1, 2, }')
    assert caught.value.offset == 24
    assert caught.value.events[:3] == [
        StringGrew(("a",), "y"),
        ScalarCompleted(("a",), "xy"),
        KeyCompleted(("b",)),
    ]
    assert ScalarCompleted(("b", 1), 2) in caught.value.events
    assert parser.value == {"a": "xy", "b": [1, 2]}
    with pytest.raises(PartialJSONError) as again:
        parser.feed("]}")
    assert again.value is caught.value
    with pytest.raises(PartialJSONError):
        parser.close()


def test_feed_after_close_is_a_usage_error() -> None:
    parser = PartialJSONParser()
    parser.feed("[]")
    assert parser.close() == []
    with pytest.raises(RuntimeError):
        parser.feed(" ")


def test_trailing_whitespace_is_fine() -> None:
    parser, _ = feed_all(" \t\n\r[1] \r\n\t ", 1)
    assert parser.close() == [1]


def test_control_characters_and_del() -> None:
    for code in range(0x20):
        with pytest.raises(PartialJSONError):
            feed_all(f'"{chr(code)}"', 1)
    assert feed_all('"\x7f"', 1)[0].close() == "\x7f"


# -- duplicate keys, nesting ---------------------------------------------------------------


def test_duplicate_keys_last_wins_in_first_position_like_json_loads() -> None:
    text = '{"a": 1, "b": [2], "a": "three", "b": {"c": 4}}'
    for size in CHUNK_SIZES:
        parser, events = feed_all(text, size)
        value = parser.close()
        assert same(value, json.loads(text)) and list(value) == ["a", "b"]
        # The replacement is visible in the events: a second start at an existing path.
        assert [e for e in events if isinstance(e, ValueStarted) and e.path == ("a",)] == [
            ValueStarted(("a",), "number"),
            ValueStarted(("a",), "string"),
        ]


def test_nesting_limit_gives_a_clear_error_not_a_recursion_error() -> None:
    with pytest.raises(PartialJSONError, match="Nesting deeper than 512 levels") as caught:
        feed_all("[" * 100_000, 4096)
    assert caught.value.offset == 512
    parser, _ = feed_all("[" * 512 + "]" * 512, 7)
    depth, node = 0, parser.close()
    while node:
        node, depth = node[0], depth + 1
    assert depth == 511
    small = PartialJSONParser(max_depth=2)
    small.feed('{"a": [')
    with pytest.raises(PartialJSONError, match="Nesting deeper than 2"):
        small.feed("{")


# -- import paths, no Django -------------------------------------------------------------


def test_importable_without_django_settings() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import sys, streamui.pipeline.partial_json as p; "
        "assert p.PartialJSONParser().feed('[1]') ; assert 'django' not in sys.modules"
    )
    root = FsPath(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env=env)


# -- linear work -----------------------------------------------------------------------------


def _feed_seconds(text: str, size: int) -> float:
    chunks = list(chunked(text, size))
    best = math.inf
    for _ in range(3):
        parser = PartialJSONParser()
        start = time.perf_counter()
        for chunk in chunks:
            parser.feed(chunk)
        parser.close()
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize(
    "make",
    [
        lambda n: json.dumps("ab\\c\"d" * (n // 6)),  # one long string with escapes
        lambda n: json.dumps(list(range(n // 7))),
        lambda n: json.dumps([{"k": "v", "n": [1.5, None]}] * (n // 30)),
    ],
    ids=["long-string", "numbers", "objects"],
)
def test_work_grows_linearly_with_one_character_chunks(make: Any) -> None:
    small, large = make(8_000), make(80_000)
    ratio = _feed_seconds(large, 1) / _feed_seconds(small, 1)
    size_ratio = len(large) / len(small)
    # Linear gives about the size ratio (10); re-parsing per chunk would give about 100.
    assert ratio < size_ratio * 2.5, ratio
