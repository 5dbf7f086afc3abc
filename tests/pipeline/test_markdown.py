from __future__ import annotations

import itertools
import typing
from collections.abc import Sequence
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamui.pipeline.commit import Revision, Struck
from streamui.pipeline.markdown import BlockUpdate, FrozenBlock, MarkdownStream, TailBlock, build_markdown

REFERENCE = build_markdown()


class Dom:
    """Applies updates the way the widget does: frozen blocks appended, the tail replaced."""

    def __init__(self) -> None:
        self.stream = MarkdownStream()
        self.frozen: list[str] = []
        self.tail = ""

    def apply(self, updates: Sequence[BlockUpdate]) -> str:
        for update in updates:
            if isinstance(update, FrozenBlock):
                assert update.index == len(self.frozen), "frozen blocks arrive once, in order"
                self.frozen.append(update.html)
            else:
                self.tail = update.html
        return self.html

    def append(self, text: str) -> str:
        return self.apply(self.stream.append(text))

    def finish(self) -> str:
        html = self.apply(self.stream.finish())
        assert self.tail == ""
        return html

    @property
    def html(self) -> str:
        return "".join(self.frozen) + self.tail


def snapshots(text: str, chunks: Sequence[str] | None = None) -> list[str]:
    dom = Dom()
    shots = [dom.append(chunk) for chunk in (chunks if chunks is not None else list(text))]
    shots.append(dom.finish())
    return shots


class _Flatten(HTMLParser):
    """Visible characters, each with the elements it sits in (whitespace ignored)."""

    VOID: typing.ClassVar[set[str]] = {"br", "hr", "img"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.items: list[tuple[str, tuple[str, ...]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            self.items.append((f"<{tag}>", tuple(self.stack)))
            return
        href = dict(attrs).get("href")
        self.stack.append(f"{tag}[{href}]" if href is not None else tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID:
            while self.stack and not self.stack.pop().startswith(tag):
                pass

    def handle_data(self, data: str) -> None:
        self.items.extend((ch, tuple(self.stack)) for ch in data if not ch.isspace())


def flatten(html: str) -> list[tuple[str, tuple[str, ...]]]:
    parser = _Flatten()
    parser.feed(html)
    parser.close()
    return parser.items


def assert_never_flickers(text: str, chunks: Sequence[str] | None = None) -> list[str]:
    """Each render extends the previous one; the end equals a one-shot render."""
    shots = snapshots(text, chunks)
    previous: list[tuple[str, tuple[str, ...]]] = []
    for i, shot in enumerate(shots):
        current = flatten(shot)
        assert current[: len(previous)] == previous, f"render {i} took back text:\n{shots[i - 1]!r}\n{shot!r}"
        previous = current
    assert shots[-1] == REFERENCE.render(text)
    return shots


def tail_after(text: str) -> str:
    dom = Dom()
    dom.append(text)
    return dom.html


# --- every unfinished construct, over every prefix -----------------------------------

CONSTRUCTS = {
    "emphasis": "Hello *world* and _more_ words.",
    "strong": "Some **bold text** here and __there__.",
    "strike": "Was ~~wrong~~ right.",
    "nested": "A ***very*** *nested **thing** here* ok.",
    "unclosed emphasis": "Price is 5 * 3 and *never closed.",
    "intraword": "snake_case_name and 2*3*4 stay.",
    "code span": "Run `pip install x` then ``a ` b`` done.",
    "unclosed code span": "A lone ` backtick stays.",
    "link": "See [the docs](https://example.com/a_b?c=1 \"Title\") now.",
    "link with emphasis": "See [*the* docs](https://example.com) now.",
    "not a link": "Cite [1] and [2], then [x] (y).",
    "autolink": "Mail <me@example.com> or <https://example.com/x>.",
    "less than": "If a < b and c<d then.",
    "entity": "Tom &amp; Jerry &#39;quote&#39; &copy and &nope; done.",
    "escape": "Not \\*emphasis\\* and a hard\\\nbreak.",
    "hard break": "line one  \nline two",
    "heading": "# Title\n\n## Sub *title*\n\nText.",
    "list": "- one\n- two *x*\n  - nested\n- three\n\nAfter.",
    "loose list": "- one\n\n- two\n\n  more of two\n- three",
    "ordered list": "1. one\n2. two\n10. ten\n\n3) paren",
    "star list and hr": "* item\n\n* * *\n\n***\n- - -\n",
    "hr after paragraph": "Text\n---\n\nMore\n___\n",
    "quote": "> quoted *text*\n> more\nlazy line\n\n> - list in quote",
    "fence": "Code:\n\n```python\ndef f(x):\n    return x ** 2\n```\n\nAfter.",
    "tilde fence": "~~~\n``` not a close\n~~~~\n",
    "unclosed fence": "```js\nconst a = 1;\n``",
    "fence in list": "- item\n\n  ```\n  code\n  ```\n- next",
    "indented code": "Para.\n\n    code line\n    more\n\nAfter.",
    "table": "| a | b |\n|---|:-:|\n| 1 | 2 |\n| *3* | `4` |\n\nAfter.",
    "table in list": "- | h |\n  |---|\n  | v |\n",
    "pipes in prose": "Use a | b or c|d.\nNext line | here.",
    "not a table": "a | b\n--|--\n",
    "setext is off": "Title\n=====\n\nSub\n---\n",
    "references are off": "See [a].\n\n[a]: https://example.com\n",
    "mixed": (
        "# Plan\n\n1. **Step** one: run `make`.\n2. Then [docs](https://x.y).\n\n"
        "| k | v |\n|---|---|\n| a | 1 |\n\n```sh\nmake test\n```\nDone & dusted."
    ),
}


@pytest.mark.parametrize("name", CONSTRUCTS)
def test_construct_never_flickers_char_by_char(name: str) -> None:
    assert_never_flickers(CONSTRUCTS[name])


@pytest.mark.parametrize("name", CONSTRUCTS)
@pytest.mark.parametrize("size", [2, 5, 11])
def test_construct_never_flickers_in_chunks(name: str, size: int) -> None:
    text = CONSTRUCTS[name]
    assert_never_flickers(text, [text[i : i + size] for i in range(0, len(text), size)])


# --- what an unfinished construct looks like ------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "shown", "hidden"),
    [
        ("Hello *wor", "Hello", "wor"),
        ("Hello **bo", "Hello", "bo"),
        ("Was ~~wro", "Was", "wro"),
        ("Run `pip ins", "Run", "pip"),
        ("See [the do", "See", "the"),
        ("See [the docs](https://exa", "See", "docs"),
        ("Mail <https://exa", "Mail", "exa"),
        ("Tom &am", "Tom", "am"),
        ("End with\\", "End with", "\\"),
        ("Trailing *", "Trailing", "*"),
    ],
)
def test_unresolved_inline_is_held(prefix: str, shown: str, hidden: str) -> None:
    html = tail_after(prefix)
    assert shown in html
    assert hidden not in html.replace(shown, "")


def test_resolved_inline_is_shown() -> None:
    assert tail_after("Hello *world* and") == "<p>Hello <em>world</em> and</p>\n"
    assert tail_after("See [docs](https://x.y) and").startswith('<p>See <a href="https://x.y"')
    assert tail_after("Cite [1] and") == "<p>Cite [1] and</p>\n"
    assert tail_after("If a < b") == "<p>If a &lt; b</p>\n"
    assert tail_after("5 * 3 is") == "<p>5 * 3 is</p>\n"


def test_open_fence_renders_as_code_as_it_streams() -> None:
    assert tail_after("```py") == ""
    assert tail_after("```py\n") == '<pre><code class="language-py"></code></pre>\n'
    assert tail_after("```py\nprint(1") == '<pre><code class="language-py">print(1</code></pre>\n'
    # A line that may become the closing fence waits for its newline.
    assert tail_after("```py\nx\n``") == '<pre><code class="language-py">x\n</code></pre>\n'
    assert tail_after("```py\nx\n``a") == '<pre><code class="language-py">x\n``a</code></pre>\n'


def test_block_markers_wait_until_settled() -> None:
    assert tail_after("-") == ""
    assert tail_after("- ") == ""
    assert tail_after("- it") == "<ul>\n<li>\n<p>it</p>\n</li>\n</ul>\n"
    assert tail_after("1") == ""
    assert tail_after("1. x") == "<ol>\n<li>\n<p>x</p>\n</li>\n</ol>\n"
    assert tail_after("#") == ""
    assert tail_after("# T") == "<h1>T</h1>\n"
    assert tail_after("--") == ""
    assert tail_after("---\n") == "<hr />\n"
    assert tail_after("2024 was") == "<p>2024 was</p>\n"


def test_table_appears_with_its_header_and_grows_by_rows() -> None:
    assert tail_after("| a | b |") == ""
    assert tail_after("| a | b |\n") == ""
    assert tail_after("| a | b |\n|--") == ""
    with_header = tail_after("| a | b |\n|---|---|\n")
    assert "<th>a</th>" in with_header and "<td>" not in with_header
    assert tail_after("| a | b |\n|---|---|\n| 1 | 2") == with_header
    assert "<td>2</td>" in tail_after("| a | b |\n|---|---|\n| 1 | 2 |\n")


def test_a_pipe_line_is_text_once_the_next_line_rules_out_a_table() -> None:
    assert tail_after("| not a table\n") == ""
    assert tail_after("| not a table\nbecause") == "<p>| not a table\nbecause</p>\n"


def test_lists_are_always_loose() -> None:
    assert snapshots("- a\n- b")[-1] == "<ul>\n<li>\n<p>a</p>\n</li>\n<li>\n<p>b</p>\n</li>\n</ul>\n"


# --- freezing ------------------------------------------------------------------------


def test_blocks_freeze_once_the_next_block_starts() -> None:
    stream = MarkdownStream()
    assert stream.append("Para one.\n\n") == [TailBlock("<p>Para one.</p>\n")]
    assert stream.append("Para") == [FrozenBlock(0, "<p>Para one.</p>\n"), TailBlock("<p>Para</p>\n")]
    assert stream.append(" two.") == [TailBlock("<p>Para two.</p>\n")]
    assert stream.frozen_count == 1
    assert stream.finish() == [FrozenBlock(1, "<p>Para two.</p>\n"), TailBlock("")]
    assert stream.finish() == []


def test_unchanged_tail_sends_nothing() -> None:
    stream = MarkdownStream()
    stream.append("Hello *wo")
    assert stream.append("r") == []


def test_a_list_stays_open_across_blank_lines() -> None:
    stream = MarkdownStream()
    stream.append("- a\n\n- b\n\n")
    assert stream.frozen_count == 0
    stream.append("After")
    assert stream.frozen_count == 1


def test_a_fence_freezes_after_it_closes_and_the_next_block_starts() -> None:
    stream = MarkdownStream()
    stream.append("```\ncode\n\nmore\n")
    assert stream.frozen_count == 0
    stream.append("```\n")
    assert stream.frozen_count == 0
    stream.append("x")
    assert stream.frozen_count == 1


def test_finish_renders_unfinished_constructs_as_markdown_does() -> None:
    assert snapshots("Hello *world")[-1] == "<p>Hello *world</p>\n"
    assert snapshots("```\ncode")[-1] == "<pre><code>code</code></pre>\n"
    assert snapshots("- ")[-1] == "<ul>\n<li></li>\n</ul>\n"


def test_line_endings_are_normalised_across_chunks() -> None:
    dom = Dom()
    dom.append("a\r")
    dom.append("\nb\rc")
    assert dom.finish() == "<p>a\nb\nc</p>\n"


def test_no_appending_after_finish() -> None:
    stream = MarkdownStream()
    stream.finish()
    with pytest.raises(RuntimeError):
        stream.append("x")


# --- correction marks ------------------------------------------------------------------


def test_struck_mark_sits_where_it_was_placed() -> None:
    dom = Dom()
    dom.append("Intro. ")
    dom.apply(dom.stream.append_mark(Struck("It is **Sydney**.", 7)))
    dom.append(" Actually, Canberra.")
    assert dom.finish() == (
        '<p>Intro. <del class="streamui-struck">It is <strong>Sydney</strong>.</del>'
        " Actually, Canberra.</p>\n"
    )


def test_revision_mark_keeps_the_original_on_demand() -> None:
    dom = Dom()
    dom.append("- ")
    dom.apply(dom.stream.append_mark(Revision("It is 5.", "Wait,", 2)))
    dom.append("It is 6.\n- next")
    html = dom.finish()
    assert html.startswith("<ul>\n<li>\n<p>")
    assert (
        '<span class="streamui-revised"><button type="button" class="streamui-revised-mark"'
        in html
    )
    assert '<del class="streamui-revised-original" hidden>It is 5.</del></span>It is 6.</p>' in html


def test_marks_survive_freezing_and_tail_renders() -> None:
    dom = Dom()
    dom.apply(dom.stream.append_mark(Struck("old", 0)))
    assert "streamui-struck" in dom.append(" new para.")
    assert "streamui-struck" in dom.append("\n\nNext")
    assert "streamui-struck" in dom.frozen[0]


def test_model_text_cannot_forge_a_mark() -> None:
    dom = Dom()
    dom.append("a\U000f0000b\U000fffffc")
    assert dom.finish() == "<p>ab\U000fffffc</p>\n"


# --- properties ---------------------------------------------------------------------------

TOKENS = [
    "a", "bc ", " ", "\n", "\n\n", "*", "**", "_", "`", "```", "~~", "~~~", "[", "]", "(", ")",
    "http://x", "#", "# ", "- ", "* ", "1. ", "2) ", "> ", "|", "| a |", "|---|", " | ", "&", "amp;",
    "<", ">", "\\", "!", "    ", "---", ":", "  ", "x.y", "\t", "  - ", "word ", "Hello world. ",
]  # fmt: skip


@settings(max_examples=120, deadline=None)
@given(parts=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=18), data=st.data())
def test_random_markdown_never_flickers(parts: list[str], data: st.DataObject) -> None:
    text = "".join(parts)
    assert_never_flickers(text)
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=6))
    bounds = sorted({0, len(text), *cuts})
    assert_never_flickers(text, [text[a:b] for a, b in itertools.pairwise(bounds)])
