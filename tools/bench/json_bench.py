"""Partial-JSON benchmark: this parser against re-parsing the buffer on every chunk.

Each document is a deterministic, realistic structured-output answer (prose with
escapes and non-ASCII text, sources, entities, steps, metadata) of a target size, fed
in small chunks as a model would stream it. Timed per document, with time.perf_counter:
- ours: one PartialJSONParser fed every chunk, then close();
- jiter: jiter.from_json(buffer.encode(), partial_mode="trailing-strings") after each chunk;
- partial-json-parser: partial_json_parser.loads(buffer) after each chunk;
- json.loads: one call on the whole document, the floor no streaming parser can beat.

Re-parsing is quadratic: at 1 MB in 4-character chunks it is 250,000 parses of up to
1 MB. So a re-parser is first *sampled*: one parse timed at the middle of each of
SAMPLES equal slices of the stream; chunks x the mean sampled cost estimates the whole
run. When the estimate fits in `budget_s` the whole run is measured; otherwise the
table shows the estimate, marked as one.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from streamui.pipeline.partial_json import PartialJSONParser

DEFAULT_SIZES: tuple[int, ...] = (1_000, 10_000, 12_000, 100_000, 1_000_000)
DEFAULT_CHUNK = 4
SAMPLES = 24
MB = 1_000_000

_WORDS = [
    "the", "model", "streams", "structured", "output", "as", "JSON", "so", "the", "page", "can", "show",
    "each", "field", "while", "it", "is", "still", "being", "written", "latency", "matters", "more", "than",
    "throughput", "for", "a", "reader", "who", "watches", "an", "answer", "grow", "Django", "renders",
    "fragments", "on", "the", "server", "htmx", "swaps", "them", "into", "place", "without", "a", "framework",
    "café", "naïve", "résumé", "東京", "Zürich", "“quoted”", "—", "em", "dash", "🙂", "tokens", "arrive",
    "every", "few", "milliseconds",
]
_ENTITY_TYPES = ("person", "organisation", "place", "product", "date")


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + rng.choice([".", ".", "?", '; see "notes".'])


def _prose(rng: random.Random, chars: int) -> str:
    parts: list[str] = []
    size = 0
    while size < chars:
        if rng.random() < 0.15:
            piece = "\n\n## " + _sentence(rng, rng.randint(2, 5)) + "\n"
        elif rng.random() < 0.2:
            piece = "\n- `code_" + str(rng.randint(1, 99)) + "` " + _sentence(rng, rng.randint(4, 9))
        else:
            piece = " " + _sentence(rng, rng.randint(6, 20))
        parts.append(piece)
        size += len(piece)
    return "".join(parts).strip()[:chars]


def _item(rng: random.Random, kind: int, n: int) -> tuple[str, Any]:
    if kind == 0:
        return "sources", {
            "url": f"https://docs.example.org/{rng.choice(_WORDS)}/{n}?ref=stream&lang=en",
            "title": _sentence(rng, rng.randint(3, 8)),
            "snippet": _sentence(rng, rng.randint(12, 30)),
            "relevance": round(rng.random(), 3),
            "published": f"20{rng.randint(10, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        }
    if kind == 1:
        return "entities", {
            "name": _sentence(rng, 2).rstrip(".?;\" ").title(),
            "type": rng.choice(_ENTITY_TYPES),
            "mentions": rng.randint(1, 40),
            "salience": round(rng.uniform(0, 1), 4),
            "aliases": [rng.choice(_WORDS) for _ in range(rng.randint(0, 3))],
        }
    return "steps", {
        "step": n,
        "action": _sentence(rng, rng.randint(4, 10)),
        "result": _sentence(rng, rng.randint(8, 24)),
        "ok": rng.random() > 0.1,
        "duration_ms": round(rng.uniform(0.5, 900), 1),
        "retry": None,
    }


def make_document(size: int, seed: int = 0) -> str:
    """A structured-output JSON document of about `size` UTF-8 bytes (a little over, never under).

    About a third is the streamed prose answer; the rest is list items, so every size has
    the same mix of strings, numbers, literals and nesting.
    """
    rng = random.Random(f"{seed}:{size}")
    doc: dict[str, Any] = {
        "answer": _prose(rng, max(40, size // 3)),
        "confidence": round(rng.uniform(0.5, 1), 3),
        "sources": [],
        "entities": [],
        "steps": [],
        "follow_up_questions": [_sentence(rng, 7)[:-1] + "?" for _ in range(2)],
        "metadata": {"model": "gpt-4o-2024-08-06", "tokens": size // 4, "cached": False, "latency_ms": 812.5},
    }
    used = len(json.dumps(doc, ensure_ascii=False).encode())
    n = 0
    while used < size:
        key, item = _item(rng, n % 3, n)
        doc[key].append(item)
        used += len(json.dumps(item, ensure_ascii=False).encode()) + 2
        n += 1
    return json.dumps(doc, ensure_ascii=False)


def chunks_of(text: str, size: int) -> list[str]:
    return [text[k : k + size] for k in range(0, len(text), size)]


# -- timing ---------------------------------------------------------------------------------


def _best_of(run: Callable[[], Any], min_total_s: float = 0.2, max_runs: int = 200, min_runs: int = 1) -> float:
    """Best wall time of `run`, repeated until min_total_s is spent (small documents are fast)."""
    best = float("inf")
    spent = 0.0
    runs = 0
    while runs < max_runs and (runs < min_runs or spent < min_total_s):
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        spent += elapsed
        runs += 1
    return best


def time_ours(chunks: Sequence[str]) -> float:
    def run() -> None:
        parser = PartialJSONParser()
        feed = parser.feed
        for chunk in chunks:
            feed(chunk)
        parser.close()

    return _best_of(run, min_runs=3)


def time_json_loads(text: str) -> float:
    return _best_of(lambda: json.loads(text))


@dataclass(frozen=True, slots=True)
class Reparser:
    name: str
    parse: Callable[[str], Any]
    """Parses one whole buffer, including any conversion that parser needs (str to bytes)."""


def _reparsers() -> list[Reparser]:
    import jiter
    import partial_json_parser

    return [
        Reparser("jiter", lambda buf: jiter.from_json(buf.encode(), partial_mode="trailing-strings")),
        Reparser("partial-json-parser", partial_json_parser.loads),
    ]


@dataclass(slots=True)
class ReparseResult:
    seconds: float
    estimated: bool
    sampled_parses: int


def time_reparser(reparser: Reparser, chunks: Sequence[str], budget_s: float) -> ReparseResult:
    ends: list[int] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        ends.append(total)
    text = "".join(chunks)
    n = len(chunks)
    picks = sorted({min(n - 1, int((k + 0.5) * n / SAMPLES)) for k in range(SAMPLES)})
    costs = []
    for index in picks:
        buf = text[: ends[index]]
        costs.append(_best_of(lambda buf=buf: reparser.parse(buf), min_total_s=0.002, max_runs=5))
    estimate = n * sum(costs) / len(costs)
    if estimate > budget_s:
        return ReparseResult(estimate, True, len(picks))

    def run() -> None:
        buf = ""
        parse = reparser.parse
        for chunk in chunks:
            buf += chunk
            parse(buf)

    return ReparseResult(_best_of(run, min_total_s=min(0.2, budget_s)), False, 0)


# -- the run ----------------------------------------------------------------------------------


@dataclass(slots=True)
class SizeResult:
    target: int
    bytes: int
    chars: int
    chunks: int
    ours_s: float
    json_loads_s: float
    reparsers: dict[str, ReparseResult] = field(default_factory=dict)

    def mb_s(self, seconds: float) -> float:
        return self.bytes / MB / seconds


@dataclass(slots=True)
class BenchReport:
    chunk_size: int
    results: list[SizeResult]

    def by_target(self, target: int) -> SizeResult | None:
        return next((r for r in self.results if r.target == target), None)

    def growth_1mb_over_10kb(self) -> float | None:
        small, large = self.by_target(10_000), self.by_target(1_000_000)
        return large.ours_s / small.ours_s if small and large else None

    def speedup_at_100kb(self) -> tuple[str, float] | None:
        row = self.by_target(100_000)
        if not row or not row.reparsers:
            return None
        name, fastest = min(row.reparsers.items(), key=lambda item: item[1].seconds)
        return name, fastest.seconds / row.ours_s

    def to_json(self) -> dict[str, Any]:
        speedup = self.speedup_at_100kb()
        return {
            "chunk_size": self.chunk_size,
            "results": [
                {**{k: v for k, v in asdict(r).items() if k != "reparsers"},
                 "ours_mb_s": r.mb_s(r.ours_s),
                 "json_loads_mb_s": r.mb_s(r.json_loads_s),
                 "ours_over_json_loads": r.ours_s / r.json_loads_s,
                 "reparsers": {name: {**asdict(res), "mb_s": r.mb_s(res.seconds)} for name, res in r.reparsers.items()}}
                for r in self.results
            ],
            "growth_1mb_over_10kb": self.growth_1mb_over_10kb(),
            "speedup_at_100kb": {"over": speedup[0], "ratio": speedup[1]} if speedup else None,
        }


def run_bench(
    sizes: Iterable[int] = DEFAULT_SIZES,
    chunk_size: int = DEFAULT_CHUNK,
    budget_s: float = 8.0,
    progress: Callable[[str], None] | None = None,
) -> BenchReport:
    reparsers = _reparsers()
    results = []
    for target in sizes:
        text = make_document(target)
        chunks = chunks_of(text, chunk_size)
        if json.loads(text) != _parse_once(text):
            raise AssertionError("the parser disagrees with json.loads on the benchmark document")
        row = SizeResult(target, len(text.encode()), len(text), len(chunks), time_ours(chunks), time_json_loads(text))
        for reparser in reparsers:
            row.reparsers[reparser.name] = time_reparser(reparser, chunks, budget_s)
        results.append(row)
        if progress:
            progress(f"{human_size(target)} done")
    return BenchReport(chunk_size, results)


def _parse_once(text: str) -> Any:
    parser = PartialJSONParser()
    parser.feed(text)
    return parser.close()


# -- output -----------------------------------------------------------------------------------


def human_size(n: int) -> str:
    if n >= MB and n % MB == 0:
        return f"{n // MB} MB"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000} KB"
    return f"{n} B"


def parse_size(text: str) -> int:
    """'1KB', '12kb', '1MB', '1500' -> bytes (decimal units, as in the table)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)[bB]?\s*", text)
    if not match:
        raise ValueError(f"not a size: {text!r}")
    scale = {"": 1, "k": 1000, "m": MB}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def format_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 100:
        return f"{seconds:.2f} s"
    return f"{seconds:,.0f} s"


def _cell(seconds: float, mb_s: float, estimated: bool = False) -> str:
    if estimated:
        return f"n/a (quadratic: est. {format_seconds(seconds)}, {mb_s:.3g} MB/s)"
    return f"{format_seconds(seconds)} ({mb_s:.3g} MB/s)"


def format_table(report: BenchReport) -> str:
    names = list(report.results[0].reparsers) if report.results else []
    header = ["document", "chunks", "this parser", *(f"{n} (re-parse per chunk)" for n in names),
              "json.loads (whole, once)", "ours ÷ json.loads"]
    rows = [header, ["---"] * len(header)]
    for r in report.results:
        rows.append([
            f"{human_size(r.target)} ({r.bytes:,} B)",
            f"{r.chunks:,}",
            _cell(r.ours_s, r.mb_s(r.ours_s)),
            *(_cell(res.seconds, r.mb_s(res.seconds), res.estimated) for res in r.reparsers.values()),
            _cell(r.json_loads_s, r.mb_s(r.json_loads_s)),
            f"{r.ours_s / r.json_loads_s:.0f}x slower",
        ])
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.append("")
    lines.append(f"Chunks of {report.chunk_size} characters. Estimated cells: {SAMPLES} parses sampled evenly "
                 "along the stream, times the number of chunks (the whole run would exceed the time budget).")
    growth = report.growth_1mb_over_10kb()
    if growth is not None:
        lines.append(f"Growth: 1 MB costs {growth:.0f}x what 10 KB costs (100x the size; target <= 120x): "
                     + ("PASS" if growth <= 120 else "FAIL"))
    speedup = report.speedup_at_100kb()
    if speedup is not None:
        row = report.by_target(100_000)
        measured = row is not None and not row.reparsers[speedup[0]].estimated
        lines.append(f"At 100 KB: {speedup[1]:.0f}x faster than the fastest re-parser ({speedup[0]}, "
                     f"{'measured' if measured else 'estimated'}; target >= 20x): "
                     + ("PASS" if speedup[1] >= 20 else "FAIL"))
    return "\n".join(lines)


__all__ = [
    "DEFAULT_SIZES",
    "BenchReport",
    "format_table",
    "human_size",
    "make_document",
    "parse_size",
    "run_bench",
]
