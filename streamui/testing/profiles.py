"""Timing profiles of the simulated LLM: real tokens, scheduled as real servers send them.

Each profile turns an answer (and a seeded RNG) into a `Trace`: timed events that a
trace player or the benchmark can replay. Times are seconds since the request.
`speed` divides every time, so tests can run a profile faster than life.
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from importlib import resources

from ..upstream.events import (
    Confirm,
    DraftDelta,
    End,
    Event,
    ReasoningDelta,
    Rollback,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from ..upstream.tokens import split_tokens
from ..upstream.traces import TimedEvent, Trace

STALL_PROBABILITY = 0.08
STALL_SECONDS = 2.5


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileOptions:
    speed: float = 1.0
    max_tokens: int | None = None
    force_stall: bool | None = None  # stalls profile: None = 8% of answers, True/False = always/never


class _Timeline:
    def __init__(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.t = 0.0
        self.speed = speed

    def wait(self, seconds: float) -> None:
        self.t += max(0.0, seconds) / self.speed

    def at(self, event: Event) -> TimedEvent:
        return TimedEvent(round(self.t, 6), event)


def _limit(tokens: list[str], opts: ProfileOptions) -> tuple[list[str], str]:
    if opts.max_tokens is not None and len(tokens) > opts.max_tokens:
        return tokens[: opts.max_tokens], "length"
    return tokens, "stop"


def _finish(tl: _Timeline, completion_tokens: int, reason: str) -> Iterator[TimedEvent]:
    yield tl.at(Usage(completion_tokens=completion_tokens))  # the simulated model counts no prompt
    yield tl.at(End(reason))


def steady(answer: str, rng: random.Random, opts: ProfileOptions) -> Iterator[TimedEvent]:
    """A healthy server: ~45 tokens/s with small jitter."""
    tokens, reason = _limit(split_tokens(answer), opts)
    tl = _Timeline(opts.speed)
    tl.wait(rng.uniform(0.25, 0.45))
    for token in tokens:
        yield tl.at(TextDelta(token))
        tl.wait(rng.gauss(1 / 45, 0.004))
    yield from _finish(tl, len(tokens), reason)


def bursty(answer: str, rng: random.Random, opts: ProfileOptions) -> Iterator[TimedEvent]:
    """Batched delivery: several tokens land at once, then a gap (proxies, batching servers)."""
    tokens, reason = _limit(split_tokens(answer), opts)
    tl = _Timeline(opts.speed)
    tl.wait(rng.uniform(0.35, 0.7))
    i = 0
    while i < len(tokens):
        burst = rng.randint(3, 14)
        for token in tokens[i : i + burst]:
            yield tl.at(TextDelta(token))
            tl.wait(0.001)
        i += burst
        tl.wait(rng.choice([rng.uniform(0.06, 0.2), rng.uniform(0.2, 0.45)]))
    yield from _finish(tl, len(tokens), reason)


def stalls(answer: str, rng: random.Random, opts: ProfileOptions) -> Iterator[TimedEvent]:
    """Steady delivery, but 8% of answers freeze for 2.5 s somewhere mid-answer."""
    tokens, reason = _limit(split_tokens(answer), opts)
    stall = rng.random() < STALL_PROBABILITY if opts.force_stall is None else opts.force_stall
    stall_at = int(len(tokens) * rng.uniform(0.25, 0.75)) if stall else -1
    tl = _Timeline(opts.speed)
    tl.wait(rng.uniform(0.3, 0.5))
    for i, token in enumerate(tokens):
        if i == stall_at:
            tl.wait(STALL_SECONDS)
        yield tl.at(TextDelta(token))
        tl.wait(rng.gauss(1 / 40, 0.006))
    yield from _finish(tl, len(tokens), reason)


def stall_now(answer: str, rng: random.Random, opts: ProfileOptions) -> Iterator[TimedEvent]:
    """The stalls profile with its 2.5 s freeze in this answer for sure: the playground's "stall the next answer"."""
    yield from stalls(answer, rng, replace(opts, force_stall=True if opts.force_stall is None else opts.force_stall))


_REASONING_STEPS = [
    "Let me restate what is being asked: {prompt}",
    "The key facts I need are the definitions involved and any common exceptions.",
    "I should consider the usual cases first, then the edge cases people ask about.",
    "A structured answer with a short summary at the top will read best.",
    "Let me check that nothing in the answer contradicts the premise of the question.",
]


def reasoning(answer: str, rng: random.Random, opts: ProfileOptions) -> Iterator[TimedEvent]:
    """A reasoning model: a long stretch of reasoning tokens before the first answer token."""
    prompt = "the question"
    thinking = " ".join(step.format(prompt=prompt) for step in _REASONING_STEPS)
    reasoning_tokens = split_tokens(thinking)
    tokens, reason = _limit(split_tokens(answer), opts)
    tl = _Timeline(opts.speed)
    tl.wait(rng.uniform(0.3, 0.5))
    think_for = rng.uniform(3.0, 5.0)
    per_token = think_for / max(1, len(reasoning_tokens))
    for token in reasoning_tokens:
        yield tl.at(ReasoningDelta(token))
        tl.wait(per_token)
    for token in tokens:
        yield tl.at(TextDelta(token))
        tl.wait(rng.gauss(1 / 50, 0.004))
    yield from _finish(tl, len(reasoning_tokens) + len(tokens), reason)


def structured_document(answer: str, rng: random.Random) -> str:
    """The JSON an LLM with response_format json_schema might send for this answer."""
    first_para = answer.split("\n\n", 1)[0].strip()
    topics = [w.strip("*:.,") for w in answer.split() if w.istitle() and len(w) > 4][:4] or ["General"]
    # Field order as a model following ANSWER_SCHEMA writes it: short fields first.
    doc = {
        "title": first_para.split(".")[0][:60],
        "confidence": round(rng.uniform(0.55, 0.97), 2),
        "answer": answer.strip(),
        "sources": [
            {"title": f"{topic} overview", "url": f"https://example.org/{topic.lower()}"}
            for topic in dict.fromkeys(topics)
        ],
        "follow_up": ["Can you give an example?", "What are the exceptions?"],
        "needs_review": rng.random() < 0.3,
    }
    return json.dumps(doc, ensure_ascii=False)


def json_profile(answer: str, rng: random.Random, opts: ProfileOptions) -> Iterator[TimedEvent]:
    """Structured output: a JSON document streamed token by token."""
    yield from steady(structured_document(answer, rng), rng, opts)


def speculative(answer: str, rng: random.Random, opts: ProfileOptions) -> Iterator[TimedEvent]:
    """Speculative decoding: a draft model proposes tokens the target model then accepts or rejects.

    Rejected draft tokens are rolled back and replaced by the target's own token, so
    the confirmed text is exactly the answer; the drafts that lose are plausible
    tokens taken from elsewhere in the answer.
    """
    tokens, reason = _limit(split_tokens(answer), opts)
    tl = _Timeline(opts.speed)
    tl.wait(rng.uniform(0.25, 0.45))
    i = 0
    while i < len(tokens):
        k = rng.randint(3, 7)
        accepted = min(len(tokens) - i, rng.randint(0, k))
        proposal = tokens[i : i + accepted]
        wrong = [rng.choice(tokens) for _ in range(k - accepted)] if i + accepted < len(tokens) else []
        for token in proposal + wrong:
            yield tl.at(DraftDelta(token))
            tl.wait(0.004)
        tl.wait(rng.uniform(0.03, 0.06))  # the target model verifies
        if wrong:
            yield tl.at(Rollback(sum(len(w) for w in wrong)))
        if i + accepted < len(tokens):
            yield tl.at(DraftDelta(tokens[i + accepted]))
            accepted += 1
        yield tl.at(Confirm())
        i += accepted
    yield from _finish(tl, len(tokens), reason)


@functools.cache
def correction_rows() -> tuple[dict[str, object], ...]:
    """The corpus rows the profile uses: id, text, label, retracted (the sentence a correction takes
    back), source."""
    raw = resources.files("streamui.testing").joinpath("data/corrections.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
    return tuple(
        r for r in rows if r["text"][:1].isupper() and r["text"].endswith(".") and not r["text"].endswith("..")
    )


def correction_phrasings() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(self-corrections, look-alikes) from the corrections corpus (data/corrections.jsonl, derived
    from bench/corrections/corpus.jsonl: real phrasings with their sources)."""
    rows = correction_rows()
    return tuple(str(r["text"]) for r in rows if r["label"]), tuple(str(r["text"]) for r in rows if not r["label"])


def self_correcting(answer: str, rng: random.Random, opts: ProfileOptions) -> Iterator[TimedEvent]:
    """A model that corrects itself mid-answer: after every third sentence of the answer comes a
    real self-correction from the corrections corpus ("The file is in Downloads. I mean, it's in
    Documents."), and after the next one a look-alike that retracts nothing ("Sorry, I can't share
    its contents."), so the playground shows both what is taken back and what must stay."""
    corrections, look_alikes = correction_phrasings()
    sentences = answer.replace("\n", " \n").split(". ")
    out: list[str] = []
    for n, sentence in enumerate(sentences):
        out.append(sentence)
        body = sentence.strip()
        plain = (
            len(body) > 20 and body[-1:].isalpha() and "\n" not in body and not body.startswith(("-", "*", "#", "|"))
        )
        if n % 3 == 0 and plain and n + 1 < len(sentences):
            out[-1] = f"{sentence}. {rng.choice(corrections).removesuffix('.')}"
        elif n % 3 == 1 and plain and n + 1 < len(sentences):
            out[-1] = f"{sentence}. {rng.choice(look_alikes).removesuffix('.')}"
    yield from steady(". ".join(out), rng, opts)


def tool_calling(answer: str, rng: random.Random, opts: ProfileOptions) -> Iterator[TimedEvent]:
    """An agent turn: a tool call whose JSON arguments stream in pieces, then the answer."""
    # The topic comes from the answer proper, not from a leading italic note (the simulator's canned label).
    body = answer.split("\n\n", 1)[-1] if answer.startswith("*") and "\n\n" in answer else answer
    topic = " ".join(body.split()[:6]).strip(",.:*#")
    arguments = json.dumps({"query": topic, "max_results": rng.randint(3, 8), "fresh": rng.random() < 0.5,
                            "sites": ["example.org", "example.com"]})
    tl = _Timeline(opts.speed)
    tl.wait(rng.uniform(0.25, 0.45))
    yield tl.at(ToolCallDelta(index=0, call_id=f"call_{rng.randrange(10**8):08d}", name="search_web"))
    pieces = split_tokens(arguments)
    for piece in pieces:
        tl.wait(rng.gauss(1 / 40, 0.004))
        yield tl.at(ToolCallDelta(index=0, arguments=piece))
    tl.wait(0.3)  # the tool runs
    tokens, reason = _limit(split_tokens(answer), opts)
    for token in tokens:
        yield tl.at(TextDelta(token))
        tl.wait(rng.gauss(1 / 45, 0.004))
    yield from _finish(tl, len(pieces) + len(tokens), reason)


Profile = Callable[[str, random.Random, ProfileOptions], Iterator[TimedEvent]]

PROFILES: dict[str, Profile] = {
    "steady": steady,
    "bursty": bursty,
    "stalls": stalls,
    "stall-now": stall_now,
    "reasoning": reasoning,
    "json": json_profile,
    "speculative": speculative,
    "corrections": self_correcting,
    "tools": tool_calling,
}


def timed_events(profile: str, text: str, *, seed: int, speed: float = 1.0, max_tokens: int | None = None,
                 force_stall: bool | None = None) -> Iterator[TimedEvent]:
    """The same events, made as they are needed: a live stream holds its position, not its whole
    trace (issue 9: the prebuilt trace was a third of a live stream's memory)."""
    try:
        make = PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown simulated profile {profile!r} (known: {', '.join(PROFILES)})") from None
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    return make(text, random.Random(seed), ProfileOptions(speed=speed, max_tokens=max_tokens, force_stall=force_stall))


def build_trace(
    profile: str,
    text: str,
    *,
    seed: int,
    speed: float = 1.0,
    max_tokens: int | None = None,
    force_stall: bool | None = None,
    name: str | None = None,
) -> Trace:
    """The timed events the simulated LLM sends for `text` under `profile`, all at once."""
    return Trace(
        name=name or f"{profile}-{seed}",
        events=list(timed_events(profile, text, seed=seed, speed=speed, max_tokens=max_tokens,
                                 force_stall=force_stall)),
        header={"about": f"simulated profile {profile}, seed {seed}", "profile": profile, "seed": seed},
    )


__all__ = ["PROFILES", "STALL_PROBABILITY", "STALL_SECONDS", "Profile", "ProfileOptions", "build_trace",
           "timed_events"]
