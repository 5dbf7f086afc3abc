"""Streams share one parser per thread: interleaved, each renders exactly as it does alone."""

from __future__ import annotations

import random

from streamui.pipeline.markdown import MarkdownStream
from streamui.testing.simulated import answer_corpus


def pieces(text: str, seed: int) -> list[str]:
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(text):
        n = rng.choice((1, 3, 7, 20))
        out.append(text[i:i + n])
        i += n
    return out


def alone(parts: list[str]) -> list[object]:
    md = MarkdownStream()
    return [md.append(p) for p in parts] + [md.finish()]


def test_interleaved_streams_render_as_each_alone() -> None:
    answers = [a.answer for a in answer_corpus()[:12]]
    parts = [pieces(text, i) for i, text in enumerate(answers)]
    expected = [alone(p) for p in parts]
    streams = [MarkdownStream() for _ in answers]
    got: list[list[object]] = [[] for _ in answers]
    rng = random.Random(7)
    cursors = [0] * len(answers)
    while any(c <= len(p) for c, p in zip(cursors, parts, strict=True)):
        k = rng.choice([i for i, (c, p) in enumerate(zip(cursors, parts, strict=True)) if c <= len(p)])
        if cursors[k] < len(parts[k]):
            got[k].append(streams[k].append(parts[k][cursors[k]]))
        else:
            got[k].append(streams[k].finish())
        cursors[k] += 1
    assert got == expected
