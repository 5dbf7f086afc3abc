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
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import AsyncIterator

from ..upstream.base import ChatRequest
from ..upstream.events import Event
from .profiles import PROFILES, build_trace
from ..upstream.traces import Trace, load_trace


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


def pick_answer(prompt: str) -> CorpusAnswer:
    """The corpus answer whose prompt matches, else one chosen by the prompt's hash."""
    corpus = answer_corpus()
    wanted = prompt.strip().lower()
    for item in corpus:
        if item.prompt.lower() == wanted:
            return item
    return corpus[seed_for(prompt) % len(corpus)]


def trace_for_request(
    request: ChatRequest, *, profile: str, speed: float = 1.0, force_stall: bool | None = None
) -> Trace:
    answer = pick_answer(request.prompt)
    turn = sum(1 for m in request.messages if m.role == "user")
    return build_trace(
        profile,
        answer.answer,
        seed=seed_for(request.prompt, salt=f"{profile}:{turn}"),
        speed=speed,
        max_tokens=request.max_tokens,
        force_stall=force_stall,
    )


async def play_trace(trace: Trace, *, speed: float = 1.0) -> AsyncIterator[Event]:
    """Yield a trace's events at their times on the event loop's clock."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for timed in trace.events:
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
        trace = trace_for_request(
            request, profile=request.profile or self.profile, speed=self.speed, force_stall=self.force_stall
        )
        return play_trace(trace)

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
    "CorpusAnswer",
    "answer_corpus",
    "pick_answer",
    "seed_for",
    "trace_for_request",
    "play_trace",
    "SimulatedUpstream",
    "TraceUpstream",
    "build_trace",
    "PROFILES",
]
