"""Widget tests: exact fragments for a known stream, stability, errors, escaping, schema, tool calls.

A tiny DOM (stdlib html.parser) applies fragments with htmx's out-of-band rules, so the
tests check what a page would show, not only what strings were sent.
"""

from __future__ import annotations

import itertools
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import ChoiceLoader, DictLoader, Environment, PackageLoader

from streamui.widgets import (
    JSONWidgetRenderer,
    PathPattern,
    ToolCallsRenderer,
    WidgetRegistry,
    dom_id,
    safe_href,
)
from streamui.widgets.registry import humanize
from tools.loadgen.oob_dom import Page as _Page

ROOT = "su-7-json"


def Page(root_id: str = ROOT) -> _Page:
    return _Page(root_id)


def stream(text: str, size: int, renderer: JSONWidgetRenderer | None = None) -> list[list[str]]:
    renderer = renderer or JSONWidgetRenderer(ROOT)
    batches = [renderer.feed(text[k : k + size]) for k in range(0, len(text), size)]
    batches.append(renderer.close())
    assert all(type(f) is str for batch in batches for f in batch)
    return batches


def flat(batches: list[list[str]]) -> list[str]:
    return [f for batch in batches for f in batch]


# -- the known stream ----------------------------------------------------------------------------

CHUNKS = ['{"answer": "Hel', 'lo", "confidence": 0.9', '2, "sources": [{"url": "a"}]}']


def plain_strings() -> WidgetRegistry:
    """Strings shown as streamed text even once complete (not as markdown): what the fidelity tests compare."""
    registry = WidgetRegistry()
    registry.defaults["string"] = "plain"
    return registry


def test_exact_fragments_for_a_known_stream() -> None:
    renderer = JSONWidgetRenderer(ROOT, plain_strings())
    assert renderer.feed(CHUNKS[0]) == [
        ('<div id="su-7-json" hx-swap-oob="beforeend">'
        '<div class="su-w su-w-card" id="su-7-json-value"><dl id="su-7-json-value--items">'
        '<div class="su-field" id="su-7-json--answer--field"><dt>Answer</dt>'
        '<dd><span class="su-w su-w-text" id="su-7-json--answer">Hel</span></dd></div>'
        "</dl></div></div>")
    ]
    assert renderer.feed(CHUNKS[1]) == ['<span id="su-7-json--answer" hx-swap-oob="beforeend">lo</span>']
    assert renderer.feed(CHUNKS[2]) == [
        ('<div id="su-7-json-value--items" hx-swap-oob="beforeend">'
        '<div class="su-field" id="su-7-json--confidence--field"><dt>Confidence</dt>'
        '<dd><span class="su-w su-w-meter" id="su-7-json--confidence"><meter min="0" max="1" value="0.92" '
        'aria-label="Confidence"></meter> <span class="su-w-meter-value">92%</span></span></dd></div></div>'),
        ('<div id="su-7-json-value--items" hx-swap-oob="beforeend">'
        '<div class="su-field" id="su-7-json--sources--field"><dt>Sources</dt><dd>'
        '<div class="su-w su-w-list" id="su-7-json--sources"><ul id="su-7-json--sources--items">'
        '<li class="su-item" id="su-7-json--sources-0--item">'
        '<div class="su-w su-w-card" id="su-7-json--sources-0"><dl id="su-7-json--sources-0--items">'
        '<div class="su-field" id="su-7-json--sources-0-url--field"><dt>Url</dt>'
        '<dd><span class="su-w su-w-text" id="su-7-json--sources-0-url">a</span></dd></div>'
        "</dl></div></li></ul></div></dd></div></div>"),
    ]
    assert renderer.close() == []
    assert renderer.error is None


def test_item_appended_into_an_existing_list() -> None:
    renderer = JSONWidgetRenderer(ROOT, plain_strings())
    renderer.feed('{"sources": [')
    assert renderer.feed('"x", ') == [
        ('<div id="su-7-json--sources--items" hx-swap-oob="beforeend">'
        '<li class="su-item" id="su-7-json--sources-0--item">'
        '<span class="su-w su-w-text" id="su-7-json--sources-0">x</span></li></div>')
    ]
    assert renderer.feed("tr") == []
    assert renderer.feed("ue") == [
        ('<div id="su-7-json--sources--items" hx-swap-oob="beforeend">'
        '<li class="su-item" id="su-7-json--sources-1--item">'
        '<span class="su-w su-w-bool su-w-bool-yes" id="su-7-json--sources-1">✓ Yes</span>'
        "</li></div>")
    ]


def test_badge_appears_only_when_the_number_is_complete() -> None:
    text = '{"weight": 0.925, "n": [-12e-1]}'
    renderer = JSONWidgetRenderer(ROOT)
    page = Page()
    badges: list[tuple[int, str]] = []
    for k, char in enumerate(text):
        for fragment in renderer.feed(char):
            page.apply(fragment)
            badges += [(k, m) for m in re.findall(r'su-w-badge" id="[^"]+">([^<]*)<', fragment)]
    assert badges == [(text.index(","), "0.925"), (text.index("]"), "-1.2")]
    assert page.text_of("su-7-json--weight") == "0.925"


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_any_chunking_builds_the_same_page(size: int) -> None:
    text = json.dumps({
        "answer": "Line one\nline <two> & \"three\" é 😀",
        "confidence": 0.92,
        "flags": [True, False, None, 3, [1, {"deep": "x"}]],
        "sources": [{"url": "https://a.example/x?y=1&z=2", "title": "A"}, {"url": "b", "n": -1.5e3}],
        "empty": {},
        "none": [],
    })
    whole = Page().apply_all(flat(stream(text, len(text))))
    pieces = Page().apply_all(flat(stream(text, size)))
    assert pieces.body.html() == whole.body.html()
    assert pieces.text_of("su-7-json--answer") == json.loads(text)["answer"]


def test_string_text_on_the_page_tracks_the_parser_snapshot_after_every_chunk() -> None:
    text = '{"a": "x\\ny\\u00e9\\ud83d\\ude00<b>&amp;", "b": ["p\\"q"]}'
    renderer = JSONWidgetRenderer(ROOT, plain_strings())
    page = Page()
    for k in range(len(text)):
        page.apply_all(renderer.feed(text[k]))
        snapshot = renderer.parser.value or {}
        if "a" in snapshot:
            assert page.text_of("su-7-json--a") == snapshot["a"]
        if snapshot.get("b"):
            assert page.text_of("su-7-json--b-0") == snapshot["b"][0]


def test_duplicate_key_replaces_the_widget() -> None:
    renderer = JSONWidgetRenderer(ROOT)
    page = Page().apply_all(renderer.feed('{"a": "first", "b": 1'))
    fragments = renderer.feed(', "a": [2]}')
    assert any('id="su-7-json--a" hx-swap-oob="outerHTML"' in f for f in fragments)
    page.apply_all(fragments + renderer.close())
    assert page.text_of("su-7-json--a") == "2"
    assert page.text_of("su-7-json--b") == "1"


def test_top_level_scalars() -> None:
    page = Page().apply_all(flat(stream("42", 1)))
    assert page.text_of("su-7-json-value") == "42"
    page = Page().apply_all(flat(stream('"hi <you>"', 3)))
    assert page.text_of("su-7-json-value") == "hi <you>"


# -- bad JSON --------------------------------------------------------------------------------------


def test_bad_json_keeps_what_was_valid_and_shows_where_it_broke() -> None:
    renderer = JSONWidgetRenderer(ROOT)
    page = Page()
    page.apply_all(renderer.feed('{"answer": "ok", "n": [1, 2'))
    fragments = renderer.feed(', }, "tail": "<i>x</i>"')
    assert renderer.error is not None and renderer.error.offset == 29
    # The valid part of the failing chunk still arrives, then exactly one error badge.
    page.apply_all(fragments)
    assert page.text_of("su-7-json--n") == "12"
    error = page.find("su-7-json--error")
    assert error is not None
    badge = error[1]
    assert "Invalid JSON at character 29" in badge.text()
    assert badge.attrs["role"] == "alert"
    details = next(e for e in badge.walk() if e.tag == "details")
    assert details.text().endswith('{"answer": "ok", "n": [1, 2, }, "tail": "<i>x</i>"')
    assert "<i>" not in fragments[-1] and "&lt;i&gt;x&lt;/i&gt;" in fragments[-1]
    assert page.text_of("su-7-json--answer") == "ok"
    # Later input is ignored, the end is clean, and the error is reported once.
    assert renderer.feed('"more"]') == []
    assert renderer.close() == []
    assert renderer.close() == []


def test_unfinished_json_reports_at_close() -> None:
    renderer = JSONWidgetRenderer(ROOT)
    page = Page().apply_all(renderer.feed('{"answer": "cut sh'))
    fragments = renderer.close()
    assert len(fragments) == 1
    page.apply_all(fragments)
    assert "ended early at character 18" in (page.text_of("su-7-json--error") or "")
    assert page.text_of("su-7-json--answer") == "cut sh"
    assert renderer.error is not None and renderer.error.offset == 18


def test_too_deep_json_gets_the_badge_not_a_recursion_error() -> None:
    renderer = JSONWidgetRenderer(ROOT, max_depth=8)
    page = Page().apply_all(renderer.feed("[" * 20 + "]" * 20) + renderer.close())
    assert "Nesting deeper than 8" in (page.text_of("su-7-json--error") or "")


# -- escaping ----------------------------------------------------------------------------------


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)
        self.hrefs += [v or "" for name, v in attrs if name == "href"]


XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "</span><script>",
    "javascript:alert(1)",
    "&lt;b&gt;",
]


@pytest.mark.parametrize("size", [1, 5, 10_000])
def test_model_text_is_escaped_everywhere(size: int) -> None:
    doc: dict[str, Any] = {x: x for x in XSS} | {"links": [*XSS, "https://ok.example/?a=<b>"], "list": XSS}
    schema = {"properties": {"links": {"items": {"format": "uri"}}}}
    text = json.dumps(doc)
    renderer = JSONWidgetRenderer(ROOT, plain_strings(), schema=schema)
    fragments = flat(stream(text, size, renderer)) + renderer.feed("{") + renderer.close()
    assert all(type(f) is str for f in fragments)  # not Markup: joining those would escape the rest
    audit = _Audit()
    for fragment in fragments:
        audit.feed(fragment)
    assert audit.tags <= {"div", "span", "dl", "dt", "dd", "ul", "li", "a", "details", "summary", "pre", "time"}
    assert not any(name.startswith("on") for name in audit.attrs)
    assert audit.hrefs == ["https://ok.example/?a=<b>"]
    page = Page().apply_all([f for f in fragments if "su-json-error" not in f])
    values = [e for e in page.body.walk() if "su-w-text" in e.attrs.get("class", "") or e.tag == "a"]
    assert sorted(v.text() for v in values) == sorted(list(doc.values())[: len(XSS)] + XSS + XSS + doc["links"][-1:])
    labels = sorted(e.text() for e in page.body.walk() if e.tag == "dt")
    assert {humanize(x) for x in XSS} <= set(labels)


def test_safe_href() -> None:
    assert safe_href("https://a.example/x") == "https://a.example/x"
    assert safe_href("mailto:a@b.example") == "mailto:a@b.example"
    for bad in ["javascript:alert(1)", "JaVaScRiPt:x", "data:text/html,x", "//evil.example", "https:// x", "http:/x",
                "java\nscript:x", "vbscript:x", ""]:
        assert safe_href(bad) is None, bad


# -- schema and registry ---------------------------------------------------------------------------

SCHEMA: dict[str, Any] = {
    "title": "Research answer",
    "type": "object",
    "properties": {
        "answer": {"type": "string", "title": "Answer text"},
        "confidence": {"type": "number", "title": "How sure"},
        "sources": {"type": "array", "items": {"$ref": "#/$defs/Source"}},
    },
    "$defs": {
        "Source": {
            "type": "object",
            "title": "Source",
            "properties": {
                "url": {"type": "string", "format": "uri", "title": "Link"},
                "published": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
            },
        }
    },
}


def test_schema_titles_and_order_drive_the_card() -> None:
    renderer = JSONWidgetRenderer(ROOT, schema=SCHEMA)
    first = renderer.feed('{"confidence": 0.5, "extra_field": "e", "answer": "A')
    assert len(first) == 1
    page = Page().apply_all(first)
    card = page.find("su-7-json-value")
    assert card is not None
    rows = [e for e in card[1].walk() if e.attrs.get("class") == "su-field"]
    # Schema order first (answer, confidence, sources), then what the schema does not know.
    assert [r.attrs["id"].removeprefix("su-7-json--").removesuffix("--field") for r in rows] == [
        "answer", "confidence", "sources", "extra_5f_field"]
    assert [next(e.text() for e in r.walk() if e.tag == "dt") for r in rows] == [
        "Answer text", "How sure", "Sources", "Extra field"]
    assert ["hidden" in r.attrs for r in rows] == [False, False, True, False]
    assert "Research answer" in card[1].text()
    # The waiting row is filled in place when its value starts.
    later = renderer.feed('", "sources": [{"url": "https://x.example/p?q=1", "published": "2024-05-06"}]}')
    assert any('id="su-7-json--sources--field" hx-swap-oob="outerHTML"' in f for f in later)
    page.apply_all(later + renderer.close())
    link = page.find("su-7-json--sources-0-url")
    assert link is not None and link[1].tag == "a" and link[1].attrs["href"] == "https://x.example/p?q=1"
    assert link[1].attrs["rel"] == "noopener noreferrer nofollow"
    when = page.find("su-7-json--sources-0-published")
    assert when is not None and when[1].tag == "time" and when[1].attrs["datetime"] == "2024-05-06"
    labels = [e.text() for e in page.body.walk() if e.tag == "dt"]
    assert "Link" in labels and "Published" in labels


def test_a_streamed_link_is_text_until_complete_then_replaced() -> None:
    renderer = JSONWidgetRenderer(ROOT, schema=SCHEMA)
    page = Page().apply_all(renderer.feed('{"sources": [{"url": "https://x.exa'))
    assert page.find("su-7-json--sources-0-url")[1].tag == "span"  # type: ignore[index]
    grow = renderer.feed("mple/")
    assert grow == ['<span id="su-7-json--sources-0-url" hx-swap-oob="beforeend">mple/</span>']
    done = renderer.feed('"')
    assert done == [
        ('<a class="su-w su-w-link" id="su-7-json--sources-0-url" href="https://x.example/" '
        'rel="noopener noreferrer nofollow" target="_blank" hx-swap-oob="outerHTML">https://x.example/</a>')
    ]


def test_x_order_overrides_declaration_order() -> None:
    schema = {"properties": {"a": {}, "b": {}, "c": {}}, "x-order": ["c", "a"]}
    page = Page().apply_all(flat(stream('{"a": 1, "b": 2, "c": 3}', 4, JSONWidgetRenderer(ROOT, schema=schema))))
    assert [e.text() for e in page.body.walk() if e.tag == "dt"] == ["C", "A", "B"]


def test_registry_patterns_and_custom_templates() -> None:
    env = Environment(
        loader=ChoiceLoader([
            DictLoader({"site/stars.html": '<span class="stars" id="{{ id }}">{{ "★" * (value * 5)|round|int }}</span>'}),
            PackageLoader("streamui", "jinja2"),
        ]),
        autoescape=True,
    )
    registry = (
        WidgetRegistry()
        .register("confidence", "site/stars.html", label="Confidence")
        .register("sources[*].score", "text", label="Score")
        .register("sources[0].score", "badge")
        .register("*", "text")
    )
    renderer = JSONWidgetRenderer(ROOT, registry, env=env)
    page = Page().apply_all(flat(stream(
        '{"confidence": 0.8, "sources": [{"score": 1}, {"score": 2}], "n": 5, "t": true}', 3, renderer)))
    stars = page.find("su-7-json--confidence")
    assert stars is not None and stars[1].attrs["class"] == "stars" and stars[1].text() == "★★★★"
    assert page.find("su-7-json--sources-0-score")[1].attrs["class"] == "su-w su-w-badge"  # type: ignore[index]
    assert page.find("su-7-json--sources-1-score")[1].attrs["class"] == "su-w su-w-text"  # type: ignore[index]
    assert page.find("su-7-json--n")[1].attrs["class"] == "su-w su-w-text"  # type: ignore[index]
    # "*" asks for text, which cannot show an object: the list keeps its default widget.
    assert page.find("su-7-json--sources")[1].attrs["class"] == "su-w su-w-list"  # type: ignore[index]
    labels = [e.text() for e in page.body.walk() if e.tag == "dt"]
    assert labels.count("Score") == 2


@pytest.mark.parametrize(
    "pattern,path,matches",
    [
        ("answer", ("answer",), True),
        ("answer", ("answers",), False),
        ("sources[*]", ("sources", 3), True),
        ("sources[*]", ("sources", "3"), False),
        ("sources[*].url", ("sources", 0, "url"), True),
        ("sources[*].url", ("sources", 0, "title"), False),
        ("sources[1].url", ("sources", 0, "url"), False),
        ("meta.*", ("meta", "anything"), True),
        ("meta.*", ("meta", 0), False),
        ('["odd key"].x', ("odd key", "x"), True),
        ("$", (), True),
        ("$.answer", ("answer",), True),
    ],
)
def test_path_patterns(pattern: str, path: tuple[Any, ...], matches: bool) -> None:
    assert PathPattern.parse(pattern).matches(path) is matches


@pytest.mark.parametrize("bad", ["a..b", "a[", "a[x]", "[*", "a b"])
def test_bad_patterns_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        PathPattern.parse(bad)


def test_unknown_widget_name_is_refused() -> None:
    with pytest.raises(ValueError):
        WidgetRegistry().register("a", "sparkles")


# -- DOM ids ----------------------------------------------------------------------------------------


def test_dom_ids_are_stable_valid_and_unique() -> None:
    assert dom_id("su-7-json", ("sources", 0, "url")) == "su-7-json--sources-0-url"
    assert dom_id("su-7-json", ()) == "su-7-json-value"
    keys = ["a", "a-b", "a_b", "a.b", "a b", "", "_", "-", "_2d_", "é", "😀", "a--b", "value", "0"]
    paths: list[tuple[str | int, ...]] = [(k,) for k in keys] + [("a", "b"), ("a", 0), ("a", "0"), (0,), ("a", "b", "c"), ("a-b", "c")]
    ids = [dom_id(ROOT, p) for p in paths] + [dom_id(ROOT, ())]
    valid = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")
    assert all(valid.fullmatch(i) for i in ids)
    # Keys and indices share a spelling only where one container cannot hold both.
    assert len(set(ids)) == len(ids) - 2  # ("0",)~(0,) and ("a","0")~("a",0)
    assert dom_id(ROOT, ("a", "b")) != dom_id(ROOT, ("a-b",))


def test_root_id_must_be_a_plain_id() -> None:
    for bad in ["", "1x", 'x" onload="y', "a b"]:
        with pytest.raises(ValueError):
            JSONWidgetRenderer(bad)


# -- tool calls -------------------------------------------------------------------------------------


def feed_openai_delta(tools: ToolCallsRenderer, tool_calls: list[dict[str, Any]]) -> list[str]:
    """What the generation does with the adapter's ToolCallDelta events, from OpenAI-shaped deltas."""
    fragments: list[str] = []
    for item in tool_calls:
        function = item.get("function") or {}
        fragments.extend(tools.feed(item["index"], item.get("id"), function.get("name"), function.get("arguments") or ""))
    return fragments


def test_openai_tool_call_deltas_render_progressively() -> None:
    schemas = {"get_weather": {"properties": {"city": {"title": "City name"}, "unit": {"title": "Unit"}}}}
    tools = ToolCallsRenderer("su-9-tools", schemas=schemas)
    page = Page("su-9-tools")
    deltas = [
        [{"index": 0, "id": "call_A", "type": "function", "function": {"name": "get_weather", "arguments": ""}}],
        [{"index": 0, "function": {"arguments": '{"city": "Pa'}}],
        [{"index": 1, "id": "call_B", "type": "function", "function": {"name": "search<x>", "arguments": '{"q'}}],
        [{"index": 0, "function": {"arguments": 'ris", "unit": "C"}'}}],
        [{"index": 1, "function": {"arguments": '": [1, }'}}],
    ]
    first = feed_openai_delta(tools, deltas[0])
    assert first == [
        ('<div id="su-9-tools" hx-swap-oob="beforeend"><div class="su-toolcall" id="su-9-tools--call0" '
        'data-call-id="call_A"><div class="su-toolcall-header">Tool call <code id="su-9-tools--call0--name">'
        'get_weather</code> <span class="su-toolcall-state" id="su-9-tools--call0--state" data-state="running">'
        'running</span></div><div class="su-toolcall-args" id="su-9-tools--call0--args"></div>'
        '<div class="su-toolcall-result" id="su-9-tools--call0--result" hidden></div></div></div>')
    ]
    page.apply_all(first)
    second = feed_openai_delta(tools, deltas[1])
    page.apply_all(second)
    assert page.text_of("su-9-tools--call0--args--city") == "Pa"
    for delta in deltas[2:]:
        page.apply_all(feed_openai_delta(tools, delta))
    page.apply_all(tools.close())
    assert page.text_of("su-9-tools--call0--args--city") == "Paris"
    assert page.text_of("su-9-tools--call0--name") == "get_weather"
    assert page.text_of("su-9-tools--call1--name") == "search<x>"
    assert [e.text() for e in page.find("su-9-tools--call0")[1].walk() if e.tag == "dt"] == [  # type: ignore[index]
        "City name", "Unit"]
    assert tools.arguments(0) == {"city": "Paris", "unit": "C"}
    # The broken call gets its own badge; the good one is untouched.
    assert "Invalid JSON at character 10" in (page.text_of("su-9-tools--call1--args--error") or "")
    assert page.find("su-9-tools--call0--args--error") is None


def test_tool_call_name_streamed_in_pieces() -> None:
    tools = ToolCallsRenderer("t")
    page = Page("t")
    page.apply_all(tools.feed(0, "c1", "get_", ""))
    page.apply_all(tools.feed(0, None, "time", "{}"))
    page.apply_all(tools.close())
    assert page.text_of("t--call0--name") == "get_time"
    assert tools.arguments(0) == {}


# -- properties ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=15,
)


@settings(max_examples=60, deadline=None)
@given(json_values, st.lists(st.integers(min_value=0, max_value=300), max_size=15))
def test_random_documents_build_the_same_page_however_cut(value: Any, points: list[int]) -> None:
    text = json.dumps(value)
    bounds = sorted({0, len(text), *(p for p in points if p <= len(text))})
    renderer = JSONWidgetRenderer(ROOT)
    pieces = Page()
    for a, b in itertools.pairwise(bounds):
        pieces.apply_all(renderer.feed(text[a:b]))
    pieces.apply_all(renderer.close())
    assert renderer.error is None
    whole = Page().apply_all(flat(stream(text, len(text) or 1)))
    assert pieces.body.html() == whole.body.html()


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet='{}[]:,"\\ ab1-.etrufnl<>&', max_size=40), st.integers(min_value=1, max_value=5))
def test_garbage_never_raises_and_ends_with_at_most_one_badge(text: str, size: int) -> None:
    renderer = JSONWidgetRenderer(ROOT)
    page = Page().apply_all(flat(stream(text, size, renderer)))
    badges = [e for e in page.body.walk() if e.attrs.get("class") == "su-json-error"]
    assert len(badges) == (1 if renderer.error is not None else 0)


def test_widgets_work_without_django() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import sys; from streamui.widgets import JSONWidgetRenderer as R; "
        "r = R('x'); assert r.feed('[1, \"a\"]') and r.close() == []; assert 'django' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2], env=env)
