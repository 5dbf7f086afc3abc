"""What live pacing costs: CPU per revealed token with many concurrent streams.

Runs `streams` concurrent synthetic upstreams on the real event loop, each pushing
`tokens` one-word tokens at `rate` tokens per second through its own live
`Generation` (the asyncio driver of the chat pipeline, markdown off), and measures
the process's CPU time. The same run with the producers emitting directly (no
pipeline) is the baseline; the difference per token is the pacing overhead: the
strategy, the driver, the process's one pacing clock and the sender. Wall-clock bound: about
tokens / rate seconds per strategy.

    python -m tools.bench.pacer_cost [--streams 200] [--tokens 100] [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from streamui.generation import Generation
from streamui.outbox import Frame
from streamui.pipeline.smoothing import make_strategy
from streamui.upstream.base import ChatRequest, Message
from streamui.upstream.events import End, Event, TextDelta

WORDS = ("the", "stream", "reveals", "whole", "words", "at", "a", "steady", "pace", "now")


@dataclass(frozen=True, slots=True)
class Cost:
    strategy: str
    streams: int
    tokens: int
    cpu: float
    wall: float
    emits: int
    intact: bool


def _tokens(n: int) -> list[str]:
    return [" " + WORDS[i % len(WORDS)] for i in range(n)]


async def _one(strategy: str | None, tokens: list[str], gap: float, phase: float) -> tuple[int, bool]:
    out: list[str] = []

    async def emit(text: str) -> None:
        out.append(text)

    await asyncio.sleep(phase)
    if strategy is None:
        for token in tokens:
            await asyncio.sleep(gap)
            await emit(token)
        return len(out), "".join(out) == "".join(tokens)
    async def sink(frame: Frame) -> None:
        pass  # markdown off: the frames are empty; the reveals are counted below

    generation = Generation(_Tokens(tokens, gap), _REQUEST, [make_strategy(strategy)], 0, sink, "cost",
                            render=False)
    await generation.run()
    return generation.metrics.reveals, generation.shown_text == "".join(tokens)


_REQUEST = ChatRequest(messages=[Message("user", "pace")], max_tokens=0)


class _Tokens:
    name = "tokens"

    def __init__(self, tokens: list[str], gap: float) -> None:
        self.tokens, self.gap = tokens, gap

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        for token in self.tokens:
            await asyncio.sleep(self.gap)
            yield TextDelta(token)
        yield End("stop")


async def measure(strategy: str | None, *, streams: int, tokens: int, rate: float) -> Cost:
    words = _tokens(tokens)
    gap = 1 / rate
    cpu = time.process_time()
    wall = time.perf_counter()
    results = await asyncio.gather(*(_one(strategy, words, gap, gap * i / streams) for i in range(streams)))
    return Cost(
        strategy or "none",
        streams,
        streams * tokens,
        time.process_time() - cpu,
        time.perf_counter() - wall,
        sum(n for n, _ in results),
        all(ok for _, ok in results),
    )


def overhead_us(cost: Cost, baseline: Cost) -> float:
    """Pacing CPU per token in microseconds, the baseline's producers subtracted."""
    return (cost.cpu - baseline.cpu) / cost.tokens * 1e6


async def compare(strategies: Sequence[str], *, streams: int, tokens: int, rate: float) -> list[Cost]:
    results = [await measure(None, streams=streams, tokens=tokens, rate=rate)]
    for name in strategies:
        results.append(await measure(name, streams=streams, tokens=tokens, rate=rate))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.pacer_cost", description=__doc__)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=100, help="tokens per stream")
    parser.add_argument("--rate", type=float, default=100.0, help="tokens per second per stream")
    parser.add_argument("--strategy", action="append", dest="strategies", metavar="NAME")
    args = parser.parse_args(argv)
    names = args.strategies or ["passthrough", "adaptive"]
    results = asyncio.run(compare(names, streams=args.streams, tokens=args.tokens, rate=args.rate))
    baseline = results[0]
    columns = ("streams", "tokens", "emits", "cpu s", "wall s")
    print(f"{'strategy':<12} " + " ".join(f"{c:>7}" for c in columns) + f" {'us/token':>9}")
    for cost in results:
        extra = "-" if cost is baseline else f"{overhead_us(cost, baseline):.1f}"
        flag = "" if cost.intact else "  TEXT CHANGED"
        print(
            f"{cost.strategy:<12} {cost.streams:>7} {cost.tokens:>7} {cost.emits:>7} {cost.cpu:>7.2f} "
            f"{cost.wall:>7.2f} {extra:>9}{flag}"
        )
    print("us/token: CPU per pushed token above the no-pacer baseline (producers only)")
    return 0 if all(c.intact for c in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
