"""streamui.wire: journal entries as compact websocket frames, and the DOM they make is htmx's.

The equivalence tests apply both forms of the same stream to tools.loadgen.oob_dom's page (the
compact one read as streamui.js reads it, through tools.loadgen.wire_reader) and compare.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streamui import fragments
from streamui.journal import Entry
from streamui.pipeline.chat import ChatPipeline, StepClock
from streamui.pipeline.commit import CommitStage
from streamui.pipeline.lane import Lane
from streamui.pipeline.metrics import StreamMetrics
from streamui.pipeline.smoothing import make_strategy
from streamui.pipeline.tail import top_level_elements
from streamui.testing.profiles import build_trace
from streamui.testing.simulated import answer_corpus
from streamui.upstream.events import End, TextDelta
from streamui.wire import (
    LEGACY,
    TEMPLATE_ID,
    Features,
    FrameEncoder,
    figures_template,
    payload,
    read_payload,
    turn_template,
)
from tools.loadgen.frames import read_frame
from tools.loadgen.oob_dom import Page
from tools.loadgen.wire_reader import FrameReader

WIDGET = "su-wtest"
STREAM = "s1"
OUT = "su-m1-out"
MARKDOWN = (Path(__file__).parent / "browser" / "markdown_answer.md").read_text(encoding="utf-8")


def no_rest(entry: Entry, widget_id: str, stream_id: str) -> str:
    return f'<div id="{widget_id}-status" hx-swap-oob="outerHTML">{entry.state}</div>' if entry.state else ""


def status_rest(entry: Entry, widget_id: str, stream_id: str) -> str:
    """render_entry's status line, without Django."""
    return str(fragments.status(widget_id, entry.state, stream_id=stream_id)) if entry.state else ""


SHORTER = ("raw_markup", "turn_sent", "status_label", "mark_id", "seq_first", "whole_freeze", "output_number")


def before_short(**kw: bool) -> Features:
    """The forms before the eighth round's shorter ones, which the tests below spell out."""
    return Features(**{**dict.fromkeys(SHORTER, False), **kw})


def encoder(*, features: Features | None = None, **kw: Any) -> FrameEncoder:
    return FrameEncoder(WIDGET, render_rest=no_rest, features=features or before_short(), **kw)


def append(path: str, text: str) -> str:
    return str(fragments.append_tail(OUT, tuple(path.split()) if path else (), fragments.escape(text)))


def test_a_text_append_names_its_target_once_and_implies_its_seq() -> None:
    wire = encoder()
    assert wire.entry(Entry(seq=4, html=append("p", " differ")), STREAM) == [
        {"a": " differ", "q": "su-m1-out p", "seq": 4, "stream": STREAM}]
    assert wire.entry(Entry(seq=5, html=append("p", " certain")), STREAM) == [" certain"]  # the bare text
    deep = wire.entry(Entry(seq=6, html=append("ol li ul li p", " more")), STREAM)
    # The tail path, not the CSS selector; the output it is in, named before on this socket, left out.
    assert deep == [{"a": " more", "q": " ol li ul li p"}]
    assert wire.entry(Entry(seq=9, html=append("ol li ul li p", "!")), STREAM) == [{"a": "!", "seq": 9}]  # a gap
    wire.reset()  # a new follow (resume, another stream): everything is named again
    assert wire.entry(Entry(seq=10, html=append("ol li ul li p", "?")), STREAM)[0].keys() == {"a", "q", "seq", "stream"}
    # A target outside an output's tail keeps its selector (`t`); the legacy-minded encoder always does.
    other = '<div hx-swap-oob="beforeend:#su-m1-reasoning">why</div>'
    assert wire.entry(Entry(seq=11, html=other), STREAM) == [{"a": "why", "t": "#su-m1-reasoning"}]
    long = encoder(features=before_short(short_target=False))
    assert long.entry(Entry(seq=1, html=append("ol li p", "x")), STREAM)[0]["t"] == (
        "#su-m1-out-tail > ol:last-child > li:last-child > p:last-child")


def test_escaped_text_arrives_as_the_text_it_shows_and_markup_never_goes_as_text() -> None:
    wire = encoder()
    [frame] = wire.entry(Entry(seq=1, html=append("p", '3 < 4 & "x" \'y\' <b>')), STREAM)
    assert frame["a"] == '3 < 4 & "x" \'y\' <b>'
    markup = '<div hx-swap-oob="beforeend:#su-m1-out-tail &gt; ol:last-child"><li>new</li></div>'
    assert wire.entry(Entry(seq=2, html=markup), STREAM) == [{"h": "<li>new</li>", "p": " ol"}]  # output known
    root = str(fragments.append_tail(OUT, (), "<p>x</p>\n"))
    assert wire.entry(Entry(seq=3, html=root), STREAM) == [{"h": "<p>x</p>\n", "p": ""}]
    other = str(fragments.append_tail("su-m1-out-l1", ("ol",), "<li>b</li>"))
    assert wire.entry(Entry(seq=4, html=other), STREAM) == [{"h": "<li>b</li>", "p": "su-m1-out-l1 ol"}]
    assert encoder(features=before_short(same_output=False)).entry(Entry(seq=2, html=markup), STREAM) == [
        {"h": "<li>new</li>", "p": "su-m1-out ol", "seq": 2, "stream": STREAM}]
    # Text the HTML parser would change (a carriage return, an entity the encoder does not know) is not sent
    # as text: it goes as markup, which the widget parses as htmx would.
    for raw in ("a\rb", "caf&eacute;"):
        html = f'<div hx-swap-oob="beforeend:#su-m1-out-tail &gt; p:last-child">{raw}</div>'
        [frame] = wire.entry(Entry(seq=4, html=html), STREAM)
        assert "a" not in frame and frame["h"] == raw


def test_fragments_out_of_the_widgets_order_go_out_whole_and_keep_the_target_unnamed() -> None:
    wire = encoder()
    block = str(fragments.append_block(OUT, "<p>x</p>\n"))
    html = block + append("p", " late")
    assert wire.entry(Entry(seq=1, html=html), STREAM) == [{"content": html, "seq": 1, "stream": STREAM}]
    assert wire.entry(Entry(seq=2, html=append("p", " next")), STREAM)[0]["q"] == "su-m1-out p"


def test_a_movable_block_is_a_move_and_the_rest_stays_htmx() -> None:
    wire = encoder()
    html = (append("p", " end") + str(fragments.append_block(OUT, "<p>a end</p>\n", movable=1))
            + str(fragments.replace_tail(OUT, "<p>next</p>\n")))
    [frame] = wire.entry(Entry(seq=1, html=html, state="streaming"), STREAM)
    # The output is named once (by `q`, the first the widget reads), then left out (`o`, `r`).
    assert frame["a"] == " end" and frame["q"] == f"{OUT} p" and frame["z"] == 1 and "o" not in frame
    assert frame["r"] == ["", "<p>next</p>\n"]  # the new tail, without its wrapper
    assert frame["content"] == no_rest(Entry(seq=1, state="streaming"), WIDGET, STREAM)
    assert "a end" not in json.dumps(frame)  # the block's text is not sent again
    # A tail replaced before a freeze, or twice, keeps the widget's order: HTML.
    twice = str(fragments.replace_tail(OUT, "<p>x</p>")) + str(fragments.replace_tail("su-m1-out-l1", "<p>y</p>"))
    [frame] = encoder().entry(Entry(seq=1, html=twice), STREAM)
    assert frame["r"] == [OUT, "<p>x</p>"] and frame["content"] == str(fragments.replace_tail("su-m1-out-l1", "<p>y</p>"))
    late = str(fragments.replace_tail(OUT, "<p>x</p>")) + str(fragments.append_block(OUT, "<p>b</p>", movable=1))
    assert encoder().entry(Entry(seq=1, html=late), STREAM) == [{"content": late, "seq": 1, "stream": STREAM}]
    assert "r" not in encoder(features=before_short(replace_tail=False)).entry(Entry(seq=1, html=html), STREAM)[0]
    assert read_frame(json.dumps({"r": [OUT, ""]})).reveal  # the load client counts it as htmx's swap was
    unmarked = str(fragments.append_block(OUT, "<p>b</p>\n"))
    assert wire.entry(Entry(seq=2, html=unmarked), STREAM) == [{"content": unmarked, "seq": 2}]


def test_figures_go_whole_once_then_as_what_changed() -> None:
    wire = encoder()
    first = {"shown": "1", "elapsed": "0.0 s"}
    [frame] = wire.entry(Entry(seq=1, figures=first), STREAM)
    assert frame["content"] == str(fragments.figures(WIDGET, first))
    assert wire.entry(Entry(seq=2, figures={"shown": "9", "elapsed": "0.0 s"}), STREAM) == [{"f": {"shown": "9"}}]
    assert wire.entry(Entry(seq=3, figures={"shown": "9", "elapsed": "0.0 s"}), STREAM) == []  # nothing new
    assert wire.entry(Entry(seq=4, figures={"shown": "10", "elapsed": "0.0 s"}), STREAM) == [
        {"f": {"shown": "10"}, "seq": 4}]  # after a skipped entry the seq is named
    wire.reset()
    assert "content" in wire.entry(Entry(seq=5, figures=first), STREAM)[0]


def test_the_legacy_form_is_todays_frame() -> None:
    wire = FrameEncoder(WIDGET, features=LEGACY, render_rest=no_rest)
    html = append("p", " x")
    entry = Entry(seq=7, html=html, figures={"shown": "1"}, state="done")
    assert wire.entry(entry, STREAM) == [{"content": html + str(fragments.figures(WIDGET, {"shown": "1"}))
                                          + no_rest(entry, WIDGET, STREAM), "seq": 7, "stream": STREAM}]


def test_the_load_generator_reads_compact_frames() -> None:
    assert read_frame(json.dumps({"a": " word"})).reveal and read_frame(json.dumps(" word")).reveal
    assert read_frame(json.dumps({"h": "<li>x</li>", "p": "su-m1-out ol"})).reveal
    assert not read_frame(json.dumps({"f": {"shown": "3"}})).reveal
    assert read_frame(json.dumps({"z": 1, "o": OUT, "content": str(fragments.replace_tail(OUT, "<p>x</p>"))})).reveal
    status = str(fragments.status(WIDGET, "streaming", stream_id="abc"))
    assert read_frame(json.dumps({"content": status, "seq": 1})).stream_id == "abc"


def test_top_level_elements() -> None:
    assert top_level_elements("<p>a</p>\n<ul>\n<li>x</li>\n</ul>\n") == 2
    assert top_level_elements("<hr />\n<p>x</p>") == 2
    for bad in ("x<p>a</p>", "<p>a</p>x", "<p>a</b>", "<p>a", "<!-- c --><p>a</p>"):
        assert top_level_elements(bad) is None


def test_a_block_is_movable_only_when_it_is_the_start_of_the_shown_tail() -> None:
    lane = Lane(make_strategy("passthrough"), OUT, StreamMetrics(StepClock(0.0)))
    lane._tail_html = "<p>one</p>\n<p>tw</p>\n"
    assert lane._movable("<p>one</p>\n") == 1
    assert lane._movable("<p>one two</p>\n") == 0  # the frozen block reads otherwise than the tail did
    lane._tail_html = "<p>one</p>\n\n<p>tw</p>\n"
    assert lane._movable("<p>one</p>\n") == 0  # the cut would split a text node


# --- the same DOM: compact frames against htmx's -----------------------------------------------


def journal(events: list[tuple[float, Any]], strategy: str = "adaptive") -> list[Entry]:
    pipeline = ChatPipeline(message_id=1, strategies=[make_strategy(strategy)], start=0.0,
                            commit=CommitStage("replace"), show_figures=True)
    entries = [Entry(seq=1, state="streaming")]
    i, now = 0, 0.0
    while True:
        wake = pipeline.wake_at
        next_event = events[i][0] if i < len(events) and pipeline.ended_at is None else None
        now = max(now, min(t for t in (next_event, wake) if t is not None))
        while i < len(events) and events[i][0] <= now and pipeline.ended_at is None:
            pipeline.push(events[i][1], now)
            i += 1
        if pipeline.wake_at is None or pipeline.wake_at > now:
            continue
        step = pipeline.poll(now)
        if step.html or step.figures:
            entries.append(Entry(seq=len(entries) + 1, html=step.html, figures=step.figures))
        if step.done:
            # The end as stream_end journals it: the answer's mark and the state.
            mark = str(fragments.replace_mark(1, "complete", 'a "detail" & <more>'))
            return [*entries, Entry(seq=len(entries) + 1, state="done", html=mark)]


def pages(entries: list[Entry], *, resume_at: int | None = None) -> tuple[Page, Page, int]:
    status = str(fragments.status(WIDGET, "idle")).replace(' hx-swap-oob="outerHTML"', "")
    shell = (str(fragments.assistant_turn(1)) + status +
             f'<dl id="{WIDGET}-figures" data-streamui="figures"></dl>')
    legacy, compact = Page(html=shell), Page(html=shell)
    old = FrameEncoder(WIDGET, features=LEGACY, render_rest=status_rest)
    new, reader = FrameEncoder(WIDGET, render_rest=status_rest), FrameReader(widget_id=WIDGET)
    for entry in entries:
        for frame in old.entry(entry, STREAM):
            legacy.apply_frame(frame["content"])
        if resume_at is not None and entry.seq == resume_at:
            new.reset()  # a new socket resumes here: the widget keeps its page, the server starts over
            reader = FrameReader(seq=reader.seq, figures_id=reader.figures_id, widget_id=WIDGET)
        for frame in new.entry(entry, STREAM):
            read = reader.read(payload(frame))
            assert read["seq"] == entry.seq  # the widget's count of implied seqs is the journal's
            compact.apply_frame(read["content"])
    return legacy, compact, reader.compact_frames


def trace_events(text: str, seed: int) -> list[tuple[float, Any]]:
    return [(e.t, e.event) for e in build_trace("steady", text, seed=seed).events]


@pytest.mark.parametrize("index", range(0, 177, 6))
def test_corpus_answers_build_the_same_dom_compact_or_not(index: int) -> None:
    item = answer_corpus()[index]
    legacy, compact, n = pages(journal(trace_events(item.answer, index)))
    assert n > 10
    assert compact.body.html() == legacy.body.html()


@pytest.mark.parametrize("piece", [1, 3, 7, 40])
def test_every_markdown_shape_builds_the_same_dom_and_survives_a_resume(piece: int) -> None:
    events: list[tuple[float, Any]] = [(k * 0.01, TextDelta(MARKDOWN[k * piece:(k + 1) * piece]))
                                       for k in range((len(MARKDOWN) + piece - 1) // piece)]
    entries = journal([*events, (events[-1][0] + 0.01, End("stop"))])
    legacy, compact, _ = pages(entries)
    assert compact.body.html() == legacy.body.html()
    assert "<table>" in legacy.body.html() and "<pre><code" in legacy.body.html()
    _legacy, resumed, _ = pages(entries, resume_at=len(entries) // 2)
    assert resumed.body.html() == legacy.body.html()


@pytest.mark.parametrize("index", range(1, 177, 4))
def test_a_streamed_answer_ends_as_its_one_shot_render_with_blocks_moved_not_resent(index: int) -> None:
    """Issue 9: a block frozen by the step that also grew it is grown in the client's tail and moved,
    not sent again; the page still ends as the whole answer rendered at once."""
    from streamui.rendering import markdown_html
    from tools.loadgen.oob_dom import Element

    item = answer_corpus()[index]
    entries = journal(trace_events(item.answer, index))
    legacy, _compact, _n = pages(entries)
    found_blocks, found_tail = legacy.find(f"{OUT}-blocks"), legacy.find(f"{OUT}-tail")
    assert found_blocks is not None and found_tail is not None
    shown = Element("body", {})
    shown.children = [*found_blocks[1].children, *found_tail[1].children]
    assert shown.html() == Page(html=markdown_html(item.answer)).body.html()
    resent = sum(1 for e in entries if 'data-su-freeze' not in e.html and f'id="{OUT}-blocks"' in e.html)
    assert resent == 0  # before, 19 of the 111 blocks frozen in these answers went out again
def test_the_status_line_and_the_mark_go_as_ops_and_the_interrupted_error_stays_html() -> None:
    wire = FrameEncoder(WIDGET, render_rest=status_rest, features=before_short())
    assert wire.entry(Entry(seq=1, state="streaming"), STREAM) == [
        {"s": ["streaming", 0, "Streaming…"], "seq": 1, "stream": STREAM}]  # 0: the frame's own stream
    named = FrameEncoder(WIDGET, render_rest=status_rest, features=before_short(status_stream=False))
    assert named.entry(Entry(seq=1, state="streaming"), STREAM)[0]["s"] == ["streaming", STREAM, "Streaming…"]
    mark = str(fragments.replace_mark(1, "complete", 'a "detail" & <more>'))
    assert wire.entry(Entry(seq=2, state="done", html=mark), STREAM) == [
        {"k": ["su-m1-mark", "complete", 'a "detail" & <more>', ""], "s": ["done", 0, ""]}]
    error = str(fragments.error(WIDGET, "The answer was interrupted: boom", retry_prompt="again"))

    def interrupted_rest(entry: Entry, widget_id: str, stream_id: str) -> str:
        return status_rest(entry, widget_id, stream_id) + error

    cut = FrameEncoder(WIDGET, render_rest=interrupted_rest, features=before_short())
    [frame] = cut.entry(Entry(seq=5, state="interrupted", html=str(fragments.replace_mark(1, "interrupted", "boom"))),
                        STREAM)
    assert frame == {"k": ["su-m1-mark", "interrupted", "boom", "interrupted"],
                     "s": ["interrupted", 0, "Interrupted"], "content": error, "seq": 5, "stream": STREAM}
    # Without the switches: the HTML as before.
    plain = FrameEncoder(WIDGET, render_rest=status_rest, features=before_short(status=False, mark=False))
    [frame] = plain.entry(Entry(seq=2, state="done", html=mark), STREAM)
    assert frame["content"] == mark + status_rest(Entry(seq=2, state="done"), WIDGET, STREAM)


def test_the_load_generator_sees_the_start_and_the_end_in_status_ops() -> None:
    wire = FrameEncoder(WIDGET, render_rest=status_rest)
    [start] = wire.entry(Entry(seq=1, state="streaming"), STREAM)
    info = read_frame(json.dumps(start))
    assert info.stream_id == STREAM and info.end_state is None and not info.reveal
    for state in ("done", "stopped", "interrupted"):
        [end] = wire.entry(Entry(seq=2, state=state, html=str(fragments.replace_mark(1, state))), STREAM)
        assert "content" not in end and read_frame(json.dumps(end)).end_state == state
    turn = wire.turn_frame(3, 4, "hi", "c0")
    assert read_frame(json.dumps(turn)) == read_frame(json.dumps({"content": ""}))  # no reveal, no end


def test_the_turn_answering_send_is_the_template_with_its_ids_or_the_html_it_stands_for() -> None:
    wire = FrameEncoder(WIDGET, features=before_short())
    assert wire.turn_frame(3, 4, "a <b> & c", "conv") == {"u": [3, 4, "a <b> & c", "conv"]}
    legacy = FrameEncoder(WIDGET, features=LEGACY).turn_frame(3, 4, "a <b> & c", "conv")
    expected = "".join(str(p) for p in (
        fragments.clear_error(WIDGET), fragments.conversation_input(WIDGET, "conv"),
        fragments.append_to_log(WIDGET, fragments.user_turn(3, "a <b> & c") + fragments.assistant_turn(4))))
    assert legacy == {"content": expected}
    # What the template cannot say goes as HTML: two lanes, JSON mode, text the HTML parser would change.
    assert "content" in wire.turn_frame(3, 4, "x", "conv", lanes=("adaptive", "passthrough"))
    assert "content" in wire.turn_frame(3, 4, "x", "conv", mode="json")
    assert "content" in wire.turn_frame(3, 4, "a\r\nb", "conv")
    # The template is the very fragments, with ids the clone renames.
    template = turn_template()
    assert template == str(fragments.user_turn(TEMPLATE_ID, "") + fragments.assistant_turn(TEMPLATE_ID))
    renamed = template.replace(f'id="su-m{TEMPLATE_ID}', 'id="su-mX', 1).replace(f'id="su-m{TEMPLATE_ID}', 'id="su-m4')
    assert renamed.replace('id="su-mX', 'id="su-m3') == str(fragments.user_turn(3, "") + fragments.assistant_turn(4))
    # The reader the consumer tests use makes it the legacy HTML again.
    assert FrameReader(widget_id=WIDGET).read(json.dumps({"u": [3, 4, "a <b> & c", "conv"]}))["content"] == expected


def test_a_sockets_first_figures_are_the_templates_values() -> None:
    values = {"ttft": "519 ms", "shown": "17", "generated": "28", "elapsed": "1.0 s", "strategy": "adaptive"}
    wire = encoder()
    assert wire.entry(Entry(seq=1, figures=values), STREAM) == [{"F": list(values.values()), "seq": 1,
                                                                  "stream": STREAM}]
    # Then what changed, by position (null: unchanged; no trailing nulls), read back by key.
    assert wire.entry(Entry(seq=2, figures={**values, "shown": "18"}), STREAM) == [{"g": [None, "18"]}]
    assert wire.entry(Entry(seq=3, figures={**values, "shown": "18", "elapsed": "2.0 s"}), STREAM) == [
        {"g": [None, None, None, "2.0 s"]}]
    reader = FrameReader(widget_id=WIDGET, figures_id=f"{WIDGET}-figures", seq=3)
    assert reader.read(json.dumps({"g": [None, None, None, "2.0 s"]}))["content"] == (
        f'<dl id="{WIDGET}-figures" hx-swap-oob="figures"><dd data-figure="elapsed">2.0 s</dd></dl>')
    by_key = encoder(features=before_short(figures_list=False))
    by_key.entry(Entry(seq=1, figures=values), STREAM)
    assert by_key.entry(Entry(seq=2, figures={**values, "shown": "18"}), STREAM) == [{"f": {"shown": "18"}}]
    # Other keys (or order) than the template's: the HTML, as before; so with the switch off.
    odd = dict(reversed(values.items()))
    assert "content" in encoder().entry(Entry(seq=1, figures=odd), STREAM)[0]
    assert "content" in encoder(features=before_short(figures_template=False)).entry(Entry(seq=1, figures=values),
                                                                                 STREAM)[0]
    # The template is fragments.figures itself: the values filled in, it is the HTML htmx would swap.
    template = figures_template(WIDGET)
    filled = template
    for key, value in values.items():
        filled = filled.replace(f'data-figure="{key}"></dd>', f'data-figure="{key}">{value}</dd>')
    assert filled == str(fragments.figures(WIDGET, values))
    assert FrameReader(widget_id=WIDGET).read(json.dumps({"F": list(values.values()), "seq": 1}))["content"] == filled


def test_the_eighth_rounds_shorter_forms_and_the_raw_markup_message() -> None:
    wire = FrameEncoder(WIDGET, render_rest=status_rest)
    # A new stream's first frame implies seq 1; the status label is the widget's own.
    assert wire.entry(Entry(seq=1, state="streaming"), STREAM) == [{"s": ["streaming", 0], "stream": STREAM}]
    # An output is named by its message number the first time, then left out.
    assert wire.entry(Entry(seq=2, html=append("p", " x")), STREAM) == [{"a": " x", "q": "1 p"}]
    # A markup append into that output's open path: the digit of its depth, then the markup as it is.
    markup = str(fragments.append_tail(OUT, ("ol",), '<li>a "quoted"\n</li>'))
    [frame] = wire.entry(Entry(seq=3, html=markup), STREAM)
    assert frame == {"h": '<li>a "quoted"\n</li>', "p": " ol"}
    assert payload(frame) == '1<li>a "quoted"\n</li>'
    assert read_payload(payload(frame)) == {"h": '<li>a "quoted"\n</li>', "p": " *"}
    assert payload({"h": "<p>x</p>", "p": ""}) == "0<p>x</p>"
    assert payload({"h": "<p>x</p>", "p": "su-m2-out p"}).startswith("{")  # a new output: named, as JSON
    assert payload({"h": "x", "p": " a" * 10}).startswith("{")  # deeper than one digit
    # A text append that starts with a digit is not read as markup: it goes as its JSON string.
    assert payload("42 apples") == '"42 apples"' and read_payload(payload("42 apples")) == "42 apples"
    assert payload("apples") == "apples"
    # A freeze of the whole tail needs no `r` emptying it.
    frozen = "<p>a x</p>\n"
    whole = str(fragments.append_block(OUT, frozen, movable=1, whole=True)) + str(fragments.replace_tail(OUT, ""))
    assert wire.entry(Entry(seq=4, html=whole), STREAM) == [{"z": 1}]
    part = str(fragments.append_block(OUT, frozen, movable=1)) + str(fragments.replace_tail(OUT, ""))
    assert wire.entry(Entry(seq=5, html=part), STREAM) == [{"z": 1, "r": ["", ""]}]
    # The mark by its message id, its empty title and label left out.
    mark = str(fragments.replace_mark(1, "complete"))
    assert wire.entry(Entry(seq=6, state="done", html=mark), STREAM) == [{"k": [1, "complete"], "s": ["done", 0]}]
    # The reader (as streamui.js) makes each the HTML it stands for.
    reader = FrameReader(widget_id=WIDGET)
    start = reader.read(payload({"s": ["streaming", 0], "stream": STREAM}))
    assert (start["seq"], start["stream"]) == (1, STREAM)
    assert start["content"] == str(fragments.status(WIDGET, "streaming", stream_id=STREAM))
    assert reader.read(payload({"a": " x", "q": "1 p"}))["content"] == append("p", " x")
    assert reader.read('1<li>y</li>')["content"] == (
        f'<div hx-swap-oob="beforeend:#{OUT}-tail &gt; *:last-child"><li>y</li></div>')
    end = reader.read(payload({"k": [1, "complete"], "s": ["done", 0]}))["content"]
    assert end == mark + str(fragments.status(WIDGET, "done", stream_id=STREAM))
    # Every switch off again is the form before it.
    before = FrameEncoder(WIDGET, render_rest=status_rest, features=before_short())
    assert before.entry(Entry(seq=1, state="streaming"), STREAM) == [
        {"s": ["streaming", 0, "Streaming…"], "seq": 1, "stream": STREAM}]


def test_the_turn_leaves_out_what_the_widget_sent() -> None:
    wire = FrameEncoder(WIDGET)
    assert wire.turn_frame(3, 4, "hi", "conv", sent=("hi", "conv")) == {"u": [3, 4]}
    # A first turn: the widget sent no conversation, so it learns the new one.
    assert wire.turn_frame(3, 4, "hi", "conv", sent=("hi", "")) == {"u": [3, 4, None, "conv"]}
    # What the server took differs from what was sent (it trimmed it): the prompt goes, as always.
    assert wire.turn_frame(3, 4, "hi", "conv", sent=(" hi ", "conv")) == {"u": [3, 4, "hi"]}
    reader = FrameReader(widget_id=WIDGET, conversation="conv")
    reader.sent_prompt = "a <b> & c"
    expected = "".join(str(p) for p in (
        fragments.clear_error(WIDGET), fragments.conversation_input(WIDGET, "conv"),
        fragments.append_to_log(WIDGET, fragments.user_turn(3, "a <b> & c") + fragments.assistant_turn(4))))
    assert reader.read(json.dumps({"u": [3, 4]}))["content"] == expected
