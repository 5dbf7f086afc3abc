"""The optimized `MarkdownStream` gives exactly the updates the original gave.

`markdown_reference.py` is a frozen copy of `streamui/pipeline/markdown.py` from before
its settle checks were made incremental. Every input and every chunking must produce
the same updates, call by call, in the same order: corpus answers at several
chunkings, the synthetic bench documents, the construct catalogue of
test_markdown.py, and hypothesis-generated markdown-ish documents with correction
marks at random chunkings.

STREAMUI_FULL_EQUIVALENCE=1 runs every corpus answer at every chunking (minutes).
"""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamui.pipeline.corrections import Revision, Struck
from streamui.pipeline.markdown import MarkdownStream
from streamui.testing.simulated import answer_corpus
from streamui.upstream.tokens import split_tokens
from tests.oracles import markdown_reference as reference
from tools.bench.markdown_bench import normalize, synthetic_documents, word_reveals

from .test_markdown import CONSTRUCTS, TOKENS

FULL = os.environ.get("STREAMUI_FULL_EQUIVALENCE") == "1"

Event = str | Struck | Revision


def run(stream: Any, events: Sequence[Event]) -> list[list[tuple[Any, ...]]]:
    calls = []
    for event in events:
        if isinstance(event, str):
            calls.append(normalize(stream.append(event)))
        else:
            calls.append(normalize(stream.append_mark(event)))
    calls.append(normalize(stream.finish()))
    return calls


def assert_same(events: Sequence[Event], *, allow_images: bool = False) -> None:
    expected = run(reference.MarkdownStream(allow_images=allow_images), events)
    actual = run(MarkdownStream(allow_images=allow_images), events)
    if actual != expected:
        first = next((i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b), len(expected))
        text_so_far = "".join(e for e in events[: first + 1] if isinstance(e, str))
        pytest.fail(
            f"call {first} differs after {text_so_far!r}\n"
            f"  expected {expected[first] if first < len(expected) else None!r}\n"
            f"  actual   {actual[first] if first < len(actual) else None!r}"
        )


def fixed(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def random_chunks(text: str, seed: int, largest: int = 12) -> list[str]:
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(text):
        n = rng.randint(1, largest)
        out.append(text[i : i + n])
        i += n
    return out


CHUNKINGS: dict[str, Callable[[str], list[str]]] = {
    "words": word_reveals,
    "tokens": split_tokens,
    "chars3": lambda text: fixed(text, 3),
    "random": lambda text: random_chunks(text, len(text)),
    "lines": lambda text: text.splitlines(keepends=True),
}
# A fixed spread of answers per chunking (every answer with FULL): they are long, and
# the original costs about half a millisecond per append.
CORPUS = answer_corpus()
STRIDE = {"words": 8, "tokens": 15, "chars3": 40, "random": 18, "lines": 5}


def corpus_cases() -> list[tuple[str, int]]:
    cases = []
    for name, stride in STRIDE.items():
        step = 1 if FULL else stride
        offset = 0 if FULL else list(STRIDE).index(name)
        cases += [(name, i) for i in range(offset, len(CORPUS), step)]
    return cases


@pytest.mark.parametrize(("chunking", "index"), corpus_cases())
def test_corpus_answer(chunking: str, index: int) -> None:
    assert_same(CHUNKINGS[chunking](CORPUS[index].answer))


@pytest.mark.parametrize("chunking", ["words", "random", "lines"])
@pytest.mark.parametrize("name", [name for name, _ in synthetic_documents()])
def test_synthetic_document(name: str, chunking: str) -> None:
    text = dict(synthetic_documents())[name]
    assert_same(CHUNKINGS[chunking](text))


@pytest.mark.parametrize("name", CONSTRUCTS)
def test_construct_char_by_char(name: str) -> None:
    assert_same(list(CONSTRUCTS[name]))


@pytest.mark.parametrize("name", CONSTRUCTS)
def test_construct_in_chunks(name: str) -> None:
    text = CONSTRUCTS[name]
    for size in (2, 4, 7):
        assert_same(fixed(text, size))


EXTRA_TOKENS = [
    "\r", "\r\n", "~", "+ ", "10. ", "1", "-", "--", "    - ", "   ", "```py", "~~~~", "||", ":-", "-:",
    "__", "***", "\\\n", "  \n", "![", "<a@b.c>", "&#", "&#x4", "mailto:", "(x)", "](", "\"t\"", "=",
    "> > ", ">", "1)", "9999999999. ", "* * *", "| - |", "|:-|", " |\n", "é", "\U000f0001", "` `",
]  # fmt: skip
VOCABULARY = TOKENS + EXTRA_TOKENS
MARKS: list[Event] = [Struck("old *text*", 0), Revision("It was 5.", "Wait,", 0), Struck("", 0)]


@st.composite
def documents(draw: st.DrawFn) -> list[Event]:
    parts = draw(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=30))
    text = "".join(parts)
    cuts = draw(st.lists(st.integers(0, len(text)), max_size=12))
    bounds = sorted({0, len(text), *cuts})
    events: list[Event] = [text[a:b] for a, b in itertools.pairwise(bounds)]
    for _ in range(draw(st.integers(0, 2))):
        events.insert(draw(st.integers(0, len(events))), draw(st.sampled_from(MARKS)))
    return events


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=documents(), allow_images=st.booleans())
def test_random_documents(events: list[Event], allow_images: bool) -> None:
    assert_same(events, allow_images=allow_images)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=documents())
def test_random_documents_char_by_char(events: list[Event]) -> None:
    chars: list[Event] = []
    for event in events:
        chars.extend(event if isinstance(event, str) else [event])
    assert_same(chars)


# --- the claim the settle caches rest on ------------------------------------------------

LINE_PREFIXES = [
    "",
    " ",
    "  ",
    "   ",
    "    ",
    "\t",
    "- ",
    "* ",
    "+ ",
    "1. ",
    "2) ",
    "> ",
    ">",
    "# ",
    "## ",
    "-\t",
]
DECISIVE = [
    "x", "**B", "*x", "-x", "--x", "+x", "__i", "_x", "#x", "2024 ", "2024-", "1.5", "3)x", "``x", "`x", "~x",
    "~~x", "é", "[a", "<", "=", "!", "\\", "&", "\U000f0000", "\x00", "*|", "#|",
]  # fmt: skip
NO_NEWLINE = [t for t in VOCABULARY if "\n" not in t and "\r" not in t]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    context=st.lists(st.sampled_from(VOCABULARY), max_size=12).map(
        lambda parts: "".join(parts).replace("\r", "")
    ),
    prefix=st.lists(st.sampled_from(LINE_PREFIXES), max_size=3).map("".join),
    decisive=st.sampled_from(DECISIVE),
    rest=st.lists(st.sampled_from(NO_NEWLINE), max_size=4).map("".join),
)
def test_decided_lines_keep_their_block_structure(
    context: str, prefix: str, decisive: str, rest: str
) -> None:
    """A line `_DECIDED_CONTENT` matches has the same block structure whatever follows
    on it (so the original's probes all agree, and reusing its block tokens is exact)."""
    from streamui.pipeline.markdown_settle import _DECIDED_CONTENT

    complete = context[: context.rfind("\n") + 1]
    line = prefix + decisive
    if not _DECIDED_CONTENT.match(line):
        return
    original = reference.MarkdownStream()
    assert original._line_settled(complete, line)
    base = original._skeleton(complete + line)
    assert original._skeleton(complete + line + rest) == base
    for probe in ("a", "-", "```", "~~~", " |", ":", "*"):
        assert original._skeleton(complete + line + rest + probe) == base


FENCE_PARTS = [
    "```\n",
    "~~~\n",
    "```py\n",
    "  ```\n",
    "- ```\n",
    "> ```\n",
    "> a\n",
    "  code\n",
    "x\n",
    "\n",
    "- a\n",
    "````\n",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(st.sampled_from(VOCABULARY + FENCE_PARTS), max_size=14).map(
        lambda p: "".join(p).replace("\r", "")
    ),
    line=st.lists(st.sampled_from(NO_NEWLINE), max_size=4).map("".join),
)
def test_only_a_fence_reaching_the_end_of_the_complete_lines_holds_the_open_line(
    parts: str, line: str
) -> None:
    """`_settled` skips the fence check unless the complete lines' tokens have a fence
    that runs to their end; and takes a top-level one still open, with a first
    character on the line that is not its marker, as holding the line in its body."""
    complete = parts[: parts.rfind("\n") + 1]
    last = complete.count("\n")
    original = reference.MarkdownStream()
    around = reference._fence_around(original._blocks(complete + line), last)
    reaching = [t for t in original._blocks(complete) if t.type == "fence" and t.map and t.map[1] == last]
    if around is not None:
        assert reaching
    first = line.lstrip(" \t")[:1]
    if len(reaching) == 1 and reaching[0].level == 0 and first and first != reaching[0].markup[0]:
        opener = reaching[0]
        assert opener.map is not None
        if opener.content.count("\n") == last - opener.map[0] - 1:
            assert around is not None and around.markup == opener.markup
            assert not original._may_close_fence(complete + line, around.markup, last)
