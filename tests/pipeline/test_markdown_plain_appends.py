"""The plain-text shortcut of `MarkdownStream` (`_plain_append`: paragraphs and fence bodies)
gives exactly the updates the full path gives: the same inputs through a stream with the
shortcut off, call by call.

Inputs mix plain words (what takes the shortcut) with every construct of the equivalence
vocabulary (what must not), correction marks, and random chunkings.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamui.pipeline.markdown import BlockUpdate, MarkdownStream
from streamui.pipeline.markdown_plain import PlainTail

from .test_markdown_equivalence import MARKS, VOCABULARY, Event, run


class FullPath(MarkdownStream):
    plain_appends = False


class Counting(MarkdownStream):
    """Counts the updates the shortcut made."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shortcuts = 0

    def _plain_append(self, plain: PlainTail, shown: str) -> list[BlockUpdate] | None:
        updates = super()._plain_append(plain, shown)
        self.shortcuts += updates is not None
        return updates


PLAIN = [
    "word", " word", " the", " a", "Hello", ",", ", ", ".", ". ", " (x)", "(", ")", " - ", "-", ": ", ":",
    '"q"', " > ", " 42", "3", " é", "日本", "  ", "\t", " ", "'s", "?", " $5", "%", "=", "|", " | ", "#",
    "\n", "\n\n", "- ", "1. ", "> ", "# ", "```\n", "    ",
    "```py\n", "~~~\n", " <x> &amp; ", "a*b", " `q`",  # fence bodies: any text is code
]  # fmt: skip
MIXED = PLAIN * 3 + VOCABULARY  # mostly plain, so the shortcut runs often between constructs


@st.composite
def documents(draw: st.DrawFn) -> list[Event]:
    text = "".join(draw(st.lists(st.sampled_from(MIXED), min_size=1, max_size=40)))
    cuts = draw(st.lists(st.integers(0, len(text)), max_size=20))
    bounds = sorted({0, len(text), *cuts})
    events: list[Event] = [text[a:b] for a, b in itertools.pairwise(bounds)]
    for _ in range(draw(st.integers(0, 2))):
        events.insert(draw(st.integers(0, len(events))), draw(st.sampled_from(MARKS)))
    return events


def assert_same(events: list[Event], *, allow_images: bool = False) -> int:
    fast = Counting(allow_images=allow_images)
    assert run(fast, events) == run(FullPath(allow_images=allow_images), events)
    return fast.shortcuts


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=documents(), allow_images=st.booleans())
def test_the_shortcut_gives_the_updates_of_the_full_path(events: list[Event], allow_images: bool) -> None:
    assert_same(events, allow_images=allow_images)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=documents())
def test_the_shortcut_gives_the_updates_of_the_full_path_char_by_char(events: list[Event]) -> None:
    chars: list[Event] = []
    for event in events:
        chars.extend(event if isinstance(event, str) else [event])
    assert_same(chars)


CODE = [
    "def", " f(x):", " <b>", " & ", "&amp;", "*a*", "`", "``", "\n", "\n\n", "    ", "x", " ~~", "[l](u)", "\\",
    '"q"', "```", "\n```\n", "\n~~~\n", "after", " words", "é", "\t", "\x00",
]  # fmt: skip


@st.composite
def code_documents(draw: st.DrawFn) -> list[Event]:
    opener = draw(st.sampled_from(["```\n", "```py\n", "~~~\n", "````\n", "Text.\n\n```js\n"]))
    text = opener + "".join(draw(st.lists(st.sampled_from(CODE), min_size=1, max_size=30)))
    cuts = draw(st.lists(st.integers(0, len(text)), max_size=20))
    bounds = sorted({0, len(text), *cuts})
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=code_documents())
def test_the_shortcut_gives_the_updates_of_the_full_path_in_fences(events: list[Event]) -> None:
    assert_same(events)


def test_the_shortcut_is_taken_for_words_in_a_paragraph_and_not_for_constructs() -> None:
    words = ["Hello", " world,", " this", " is", " plain", " text."]
    assert assert_same(words) == len(words) - 1  # every word after the first
    # Text with a character some construct starts on takes the full path.
    for construct in (" *a", " `x", " [l", " <a", " &amp", " \\", " ~~s", " _u", " ![i", "\nx"):
        assert assert_same(["Some", " words", construct]) == 1, construct
    # So does plain text after a construct still open (the paragraph is partly held) ...
    for construct in (" *a", " `x", " [l", " ~~s", " _u", " ![i"):
        assert assert_same(["Some", " words", construct, " more", " words"]) == 1, construct
    # ... until it is resolved: "<a more" can no longer be an autolink, "&amp more" no entity.
    for construct in (" <a", " &amp", " \\"):
        assert assert_same(["Some", " words", construct, " more", " words"]) == 2, construct
    # In the body of a top-level fence any text on a line grows the code, markup included.
    assert assert_same(["```py\n", "def", " f(x):", " <b> *a* &amp;", "\n", "x"]) == 2
    # Inside a list item and a quote the paragraph grows the same way.
    assert assert_same(["- item", " one", " two"]) == 2
    assert assert_same(["> quoted", " one", " two"]) == 2
