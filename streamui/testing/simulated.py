"""The simulated LLM: the embedded default upstream when no real one is configured.

Answers are real GPT-4o answers (data/answers.jsonl) picked by the prompt, cut into
real tokens and timed by a named profile (profiles.py), or a recorded trace replayed
as it was captured. The same schedules feed the HTTP fake server, so tests exercise
the real HTTP path with the same timing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..upstream.base import ChatRequest
from ..upstream.events import Event
from ..upstream.traces import TimedEvent, Trace, load_trace
from .profiles import PROFILES, build_trace, timed_events


@dataclass(frozen=True, slots=True)
class CorpusAnswer:
    prompt: str
    answer: str


@lru_cache(maxsize=1)
def answer_corpus() -> tuple[CorpusAnswer, ...]:
    raw = resources.files("streamui.testing").joinpath("data/answers.jsonl").read_text(encoding="utf-8")
    items = (json.loads(line) for line in raw.splitlines() if line.strip())
    return tuple(CorpusAnswer(item["prompt"], item["answer"]) for item in items)


def seed_for(prompt: str, salt: str = "") -> int:
    digest = hashlib.sha256(f"{salt}\x00{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


# Topics a demo should not surprise anyone with: never picked unless asked for by the exact prompt.
_AVOID = re.compile(r"suicid|\bdeath|\bdying\b|\bdies?\b|\bkill|murder|\brape|genocide|self-harm|overdose|\babuse"
                    r"|shemale|black man|white woman|cheating|affair|terror|losing your faith|cannibal|pedophil|ramsay"
                    r"|start a war|marry a guy", re.IGNORECASE)
# Not distressing, but a third of the corpus: kept for questions about it, never as a stand-in.
_NOT_A_STAND_IN = re.compile(r"launder", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "did", "do", "does", "for",
        "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of",
        "on", "or", "our", "should", "so", "than", "that", "the", "their", "them", "then", "there", "these",
        "they", "this", "to", "was", "we", "were", "what", "when", "where", "which", "who", "why", "will",
        "with", "would", "you", "your", "about", "tell", "give", "explain", "please", "work", "works",
    ]
)
MATCH_THRESHOLD = 0.5  # share of the question's (idf-weighted) content words a corpus prompt must share
CANNED_LABEL = ("*Simulated model: no canned answer is about this question, so here is the one it has for "
                "\u201c{prompt}\u201d. The timing is real.*\n\n")


def _stem(word: str) -> str:
    """A crude stem, enough for "minors suing" to meet "a minor sue or be sued"."""
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            return word[: -len(suffix)]
    return word


def _words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOPWORDS}


@lru_cache(maxsize=1)
def demo_corpus() -> tuple[CorpusAnswer, ...]:
    """The answers the simulator may pick for a prompt that is not in the corpus word for word."""
    return tuple(item for item in answer_corpus() if not _AVOID.search(f"{item.prompt} {item.answer}"))


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    corpus = demo_corpus()
    counts: dict[str, int] = {}
    for _item, words in _prompt_words():
        for word in words:
            counts[word] = counts.get(word, 0) + 1
    unseen = math.log(len(corpus) + 1)
    return {w: math.log((len(corpus) + 1) / (n + 0.5)) for w, n in counts.items()}, unseen


@lru_cache(maxsize=1)
def _prompt_words() -> tuple[tuple[CorpusAnswer, frozenset[str]], ...]:
    # Once: stemming every corpus prompt on each request cost 3 ms a stream.
    return tuple((item, frozenset(_words(item.prompt))) for item in demo_corpus())


def topical_answer(prompt: str) -> CorpusAnswer | None:
    """The corpus answer whose question shares most of this prompt's content words, if one shares enough."""
    asked = _words(prompt)
    if not asked:
        return None
    idf, unseen = _idf()
    total = sum(idf.get(w, unseen) for w in asked)
    best, best_score = None, 0.0
    for item, words in _prompt_words():
        score = sum(idf.get(w, unseen) for w in asked & words) / total
        if score > best_score:
            best, best_score = item, score
    return best if best_score >= MATCH_THRESHOLD else None


def pick_answer(prompt: str) -> CorpusAnswer:
    """The corpus answer for this exact prompt, else one about the same thing, else a canned stand-in
    (chosen by the prompt's hash) whose text says it is one."""
    wanted = prompt.strip().lower()
    for item in answer_corpus():
        if item.prompt.lower() == wanted:
            return item
    topical = topical_answer(prompt)
    if topical is not None:
        return topical
    # The prompt's hash picks as it always did; an answer not fit to stand in passes to the next one.
    corpus, fit = answer_corpus(), set(demo_corpus())
    start = seed_for(prompt) % len(corpus)
    for k in range(len(corpus)):
        item = corpus[(start + k) % len(corpus)]
        if item in fit and not _NOT_A_STAND_IN.search(item.prompt):
            return CorpusAnswer(item.prompt, CANNED_LABEL.format(prompt=item.prompt) + item.answer)
    raise LookupError("the answer corpus has no answer fit to stand in")


def events_for_request(
    request: ChatRequest, *, profile: str, speed: float = 1.0, force_stall: bool | None = None
) -> Iterator[TimedEvent]:
    """What the simulated LLM sends for `request`, made as it goes."""
    answer = pick_answer(request.prompt)
    turn = sum(1 for m in request.messages if m.role == "user")
    return timed_events(
        profile,
        answer.answer,
        seed=seed_for(request.prompt, salt=f"{profile}:{turn}"),
        speed=speed,
        max_tokens=request.max_tokens,
        force_stall=force_stall,
    )


def trace_for_request(
    request: ChatRequest, *, profile: str, speed: float = 1.0, force_stall: bool | None = None
) -> Trace:
    turn = sum(1 for m in request.messages if m.role == "user")
    seed = seed_for(request.prompt, salt=f"{profile}:{turn}")
    return Trace(name=f"{profile}-{seed}", events=list(events_for_request(
        request, profile=profile, speed=speed, force_stall=force_stall)),
        header={"about": f"simulated profile {profile}, seed {seed}", "profile": profile, "seed": seed})


async def play_trace(trace: Trace | Iterable[TimedEvent], *, speed: float = 1.0) -> AsyncIterator[Event]:
    """Yield a trace's events at their times on the event loop's clock."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for timed in trace.events if isinstance(trace, Trace) else trace:
        delay = start + timed.t / speed - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        yield timed.event


class SimulatedUpstream:
    """An in-process LLM timed by a profile; no network, no tokens billed."""

    def __init__(
        self, *, profile: str = "bursty", speed: float = 1.0, force_stall: bool | None = None
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown simulated profile {profile!r} (known: {', '.join(PROFILES)})")
        self.profile = profile
        self.speed = speed
        self.force_stall = force_stall
        self.name = f"simulated:{profile}"

    def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        events = events_for_request(
            request, profile=request.profile or self.profile, speed=self.speed, force_stall=self.force_stall
        )
        return play_trace(events)

    def __repr__(self) -> str:
        return f"SimulatedUpstream(profile={self.profile!r}, speed={self.speed!r})"


class TraceUpstream:
    """Replays a recorded trace file, whatever the prompt."""

    def __init__(self, path: str | Path, *, speed: float = 1.0) -> None:
        self.trace = load_trace(path)
        self.speed = speed
        self.name = f"trace:{self.trace.name}"

    def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        return play_trace(self.trace, speed=self.speed)

    def __repr__(self) -> str:
        return f"TraceUpstream({self.trace.name!r}, speed={self.speed!r})"


__all__ = [
    "CANNED_LABEL",
    "PROFILES",
    "CorpusAnswer",
    "SimulatedUpstream",
    "TraceUpstream",
    "answer_corpus",
    "build_trace",
    "demo_corpus",
    "pick_answer",
    "play_trace",
    "seed_for",
    "topical_answer",
    "trace_for_request",
]
