"""Per-reveal cost of streaming markdown (`MarkdownStream.append`), on realistic reveals.

Documents: the answer corpus (real GPT-4o answers: lists, bold, headings, code) and a
few synthetic ones that stress one construct each (a 60-item list, a 40-row table, a
long code fence, long paragraphs with inline markup). Each document is cut into real
tokens (`split_tokens`) and regrouped into whole words the way the `adaptive`
strategy reveals them (`WordQueue`: a unit is leading whitespace, a word and the
whitespace after it), one word per `append`, then `finish()`.

Times are this thread's CPU time (`--wall` for wall-clock), so other load on the
machine does not count; the implementations run interleaved, document by document.
Reported per document set: µs per `append` (mean, p50, p99 by nearest rank), ms per
document (all appends plus `finish`), and the number of appends. When the frozen
original implementation is importable (`tests/oracles/markdown_reference.py`, so run
from the repository root) it is timed on the same reveals in the same run, the
ratio is shown, and every document's sequence of updates from the current renderer
is checked against the original's (golden equality); a mismatch exits non-zero.

    python -m tools.bench.markdown_bench [--limit N] [--repeat N] [--only SET] [--wall] [--no-reference]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from streamui.pipeline.markdown import MarkdownStream
from streamui.pipeline.strategies.words import WordQueue
from streamui.testing.simulated import answer_corpus
from streamui.upstream.tokens import split_tokens

from .metrics import percentile


class Renderer(Protocol):
    def append(self, text: str) -> Sequence[Any]: ...

    def finish(self) -> Sequence[Any]: ...


# --- documents ----------------------------------------------------------------------

_PROSE = (
    "the model answer stream renders text as it arrives and every reveal costs time on "
    "one core so the settle check should be cheap while the output stays exactly the same "
    "for each chunking of the same document including lists tables fences and headings"
)
_WORDS = _PROSE.split(" ")


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(n)]
    # Some inline markup, as models write it.
    for _ in range(n // 8):
        i = rng.randrange(len(words))
        kind = rng.randrange(5)
        if kind == 0:
            words[i] = f"**{words[i]}**"
        elif kind == 1:
            words[i] = f"*{words[i]}*"
        elif kind == 2:
            words[i] = f"`{words[i]}()`"
        elif kind == 3:
            words[i] = f"[{words[i]}](https://example.com/{words[i]})"
        else:
            words[i] = f"{words[i]} (e.g. {rng.choice(_WORDS)})"
    return " ".join(words).capitalize() + "."


def synthetic_documents() -> list[tuple[str, str]]:
    rng = random.Random(20240611)
    items = [
        f"{i}. **{rng.choice(_WORDS).capitalize()} {i}:** {_sentence(rng, 12)}\n"
        + (f"   - {_sentence(rng, 8)}\n" if i % 3 == 0 else "")
        for i in range(1, 61)
    ]
    list60 = "Here are sixty items:\n\n" + "".join(items) + "\nThat is the list.\n"
    rows = [
        f"| {rng.choice(_WORDS)} {i} | {rng.randrange(10_000)} | {_sentence(rng, 6)} |\n"
        for i in range(1, 41)
    ]
    table40 = (
        "A table:\n\n| Name | Value | Notes |\n| --- | ---: | :--- |\n"
        + "".join(rows)
        + "\nAfter the table.\n"
    )
    code = [
        f"{'    ' * (i % 3)}value_{i} = compute(value_{i - 1}, step={i})  # {rng.choice(_WORDS)}\n"
        for i in range(1, 151)
    ]
    fence = "The code:\n\n```python\n" + "".join(code) + "```\n\nThat was the code.\n"
    paragraphs = "\n\n".join(
        " ".join(_sentence(rng, rng.randrange(10, 30)) for _ in range(12)) for _ in range(5)
    )
    return [("list60", list60), ("table40", table40), ("fence150", fence), ("paragraphs", paragraphs + "\n")]


def word_reveals(text: str) -> list[str]:
    """`text` as the adaptive strategy reveals it when it keeps up: one whole word at a time."""
    queue = WordQueue()
    out: list[str] = []
    for token in split_tokens(text):
        queue.push(token)
        while len(queue):
            out.extend(queue.take(1, 1 << 30))
    rest = queue.take_all(1 << 30)
    if rest:
        out.append(rest)
    return out


# --- measuring ------------------------------------------------------------------------


@dataclass
class Timing:
    append_ns: list[int] = field(default_factory=list)
    doc_ns: list[int] = field(default_factory=list)

    def add(self, other: Timing) -> None:
        self.append_ns += other.append_ns
        self.doc_ns += other.doc_ns


def normalize(updates: Iterable[Any]) -> list[tuple[Any, ...]]:
    """Updates as plain tuples, so two implementations' dataclasses compare."""
    return [(type(u).__name__, getattr(u, "index", None), u.html) for u in updates]


def run_document(
    factory: Callable[[], Renderer], reveals: Sequence[str], clock: Callable[[], int] = time.thread_time_ns
) -> tuple[Timing, list[list[tuple[Any, ...]]]]:
    """Time every append (and the whole document); the updates of each call, in order."""
    timing = Timing()
    calls: list[list[tuple[Any, ...]]] = []
    stream = factory()
    start = clock()
    for piece in reveals:
        t0 = clock()
        updates = stream.append(piece)
        timing.append_ns.append(clock() - t0)
        calls.append(normalize(updates))
    calls.append(normalize(stream.finish()))
    timing.doc_ns.append(clock() - start)
    return timing, calls


def _reference_factory() -> Callable[[], Renderer] | None:
    try:
        from tests.oracles.markdown_reference import MarkdownStream as Reference
    except ImportError:
        return None
    return Reference


def _stats(timing: Timing) -> tuple[float, float, float, float, int]:
    us = sorted(ns / 1000 for ns in timing.append_ns)
    mean = sum(us) / len(us) if us else 0.0
    doc_ms = sum(timing.doc_ns) / len(timing.doc_ns) / 1e6 if timing.doc_ns else 0.0
    return mean, percentile(us, 50), percentile(us, 99), doc_ms, len(us)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.markdown_bench", description=__doc__)
    parser.add_argument("--limit", type=int, default=None, help="only the first N corpus answers")
    parser.add_argument("--repeat", type=int, default=1, help="run each document N times (timings pooled)")
    parser.add_argument("--only", action="append", default=None, help="only this document set (repeatable)")
    parser.add_argument(
        "--wall", action="store_true", help="wall-clock time instead of this thread's CPU time"
    )
    parser.add_argument("--no-reference", action="store_true", help="skip timing and checking the original")
    args = parser.parse_args(argv)

    corpus = [("corpus", a.answer) for a in answer_corpus()[: args.limit]]
    sets: dict[str, list[list[str]]] = {"corpus": [word_reveals(text) for _, text in corpus]}
    for name, text in synthetic_documents():
        sets[name] = [word_reveals(text)]

    if args.only:
        sets = {name: docs for name, docs in sets.items() if name in args.only}
    reference = None if args.no_reference else _reference_factory()
    if reference is None and not args.no_reference:
        print("(original implementation not importable: run from the repository root to compare)")
    impls: list[tuple[str, Callable[[], Renderer]]] = [("current", MarkdownStream)]
    if reference is not None:
        impls.insert(0, ("original", reference))

    clock = time.perf_counter_ns if args.wall else time.thread_time_ns
    mismatches = 0
    print(f"{'set':<11} {'impl':<9} {'appends':>7} {'mean µs':>9} {'p50 µs':>8} {'p99 µs':>9} {'ms/doc':>8}")
    for set_name, docs in sets.items():
        results: dict[str, Timing] = {name: Timing() for name, _ in impls}
        for doc_index, reveals in enumerate(docs):
            for rep in range(args.repeat):
                # Interleaved, so both implementations see the same machine load.
                outputs: dict[str, list[list[tuple[Any, ...]]]] = {}
                for impl_name, factory in impls:
                    gc.collect()
                    timing, outputs[impl_name] = run_document(factory, reveals, clock)
                    results[impl_name].add(timing)
                golden = outputs.get("original")
                if rep == 0 and golden is not None and golden != outputs["current"]:
                    mismatches += 1
                    calls = outputs["current"]
                    first = next(
                        (i for i, (a, b) in enumerate(zip(golden, calls, strict=False)) if a != b),
                        min(len(golden), len(calls)),
                    )
                    print(f"MISMATCH {set_name}[{doc_index}] at call {first}", file=sys.stderr)
        for impl_name, _ in impls:
            mean, p50, p99, doc_ms, n = _stats(results[impl_name])
            print(f"{set_name:<11} {impl_name:<9} {n:>7} {mean:>9.1f} {p50:>8.1f} {p99:>9.1f} {doc_ms:>8.1f}")
        if "original" in results:
            old, new = _stats(results["original"]), _stats(results["current"])
            ratios = [o / n if n else float("inf") for o, n in zip(old[:4], new[:4], strict=False)]
            print(
                f"{set_name:<11} {'speedup':<9} {'':>7} "
                + " ".join(f"{r:>{w}.1f}x" for r, w in zip(ratios, (8, 7, 8, 7), strict=False))
            )
    if reference is not None:
        print("golden equality:", "OK" if not mismatches else f"{mismatches} document(s) differ")
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
