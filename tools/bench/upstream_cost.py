"""What reading a real upstream costs: CPU per token of `OpenAICompatibleUpstream` over HTTP.

Starts the fake LLM server (`streamui.testing.fake_server`, the `steady` profile: about 45
tokens a second, one SSE event per token, as real servers send them) in a process of its
own, so its CPU is not counted, then runs N concurrent streams through the upstream as the
live path does (`GuardedUpstream` around it, one shared client per event loop) and divides
this process's CPU time by the tokens received. In the same run, the floor: the same
responses read by a bare asyncio socket reader that only counts the bytes (what any Python
reader pays for the socket reads and the loop's wake-ups), so the ratio is the adapter's own
cost, not the machine's.

    python -m tools.bench.upstream_cost [--streams 1,100,300] [--max-tokens 300] [--rounds 2]

Issue 9's target: <= 20 µs of CPU per token, and no client construction per stream.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PROMPT = "Explain how a jitter buffer smooths token delivery, with a list of the trade-offs."


@dataclass(frozen=True, slots=True)
class Cost:
    reader: str
    streams: int
    tokens: int
    cpu: float  # seconds of this process's CPU
    wall: float

    @property
    def per_token_us(self) -> float:
        return self.cpu / max(1, self.tokens) * 1e6


def _serve(port_out: Any, stop: Any) -> None:
    from streamui.testing.fake_server import FakeLLMServer

    async def main() -> None:
        server = FakeLLMServer(profile="steady")
        await server.start()
        port_out.send(server.port)
        while not stop.is_set():
            await asyncio.sleep(0.1)
        await server.stop()

    asyncio.run(main())


def _payload(max_tokens: int, index: int) -> dict[str, Any]:
    return {"model": "steady", "stream": True, "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": f"{PROMPT} ({index})"}]}


async def _adapter_streams(base_url: str, streams: int, max_tokens: int) -> int:
    from streamui.upstream.base import ChatRequest, Message
    from streamui.upstream.events import TextDelta, Usage
    from streamui.upstream.openai import OpenAICompatibleUpstream
    from streamui.upstream_guard import GuardedUpstream

    upstream = GuardedUpstream(OpenAICompatibleUpstream(base_url=base_url, model="steady", api_key="bench"),
                               max_chars=1_000_000)

    async def one(index: int) -> int:
        request = ChatRequest(messages=[Message("user", f"{PROMPT} ({index})")], max_tokens=max_tokens)
        tokens = deltas = 0
        async for event in upstream.stream(request):
            if isinstance(event, TextDelta):
                deltas += 1
            elif isinstance(event, Usage) and event.completion_tokens:
                tokens = event.completion_tokens
        return tokens or deltas

    try:
        return sum(await asyncio.gather(*(one(i) for i in range(streams))))
    finally:
        await upstream.aclose()


async def _socket_streams(port: int, streams: int, max_tokens: int) -> int:
    """The floor: the same requests, the response bytes read and counted, nothing parsed."""

    async def one(index: int) -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        body = json.dumps(_payload(max_tokens, index)).encode()
        writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                     b"Accept: text/event-stream\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))
        events = 0
        while chunk := await reader.read(65536):
            events += chunk.count(b"data: ")  # a read may split one: the count is for scale only
        writer.close()
        return max(1, events - 2)  # the usage and [DONE] events carry no token

    return sum(await asyncio.gather(*(one(i) for i in range(streams))))


def _measure(reader: str, port: int, streams: int, max_tokens: int) -> Cost:
    base_url = f"http://127.0.0.1:{port}/v1"

    async def run() -> int:
        if reader == "adapter":
            return await _adapter_streams(base_url, streams, max_tokens)
        return await _socket_streams(port, streams, max_tokens)

    cpu, wall = time.process_time(), time.perf_counter()
    tokens = asyncio.run(run())
    return Cost(reader, streams, tokens, time.process_time() - cpu, time.perf_counter() - wall)


def measure(counts: Sequence[int], *, max_tokens: int = 300, rounds: int = 2) -> list[tuple[Cost, Cost]]:
    """Per count, the best of `rounds` alternating runs of the adapter and the floor."""
    import django

    django.setup()
    ctx = multiprocessing.get_context("spawn")
    port_in, port_out = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    server = ctx.Process(target=_serve, args=(port_out, stop), daemon=True)
    server.start()
    try:
        port = int(port_in.recv())
        _measure("adapter", port, 1, 20)  # imports and the shared client's first connection
        results = []
        for count in counts:
            adapter: list[Cost] = []
            floor: list[Cost] = []
            for _ in range(rounds):
                adapter.append(_measure("adapter", port, count, max_tokens))
                floor.append(_measure("socket", port, count, max_tokens))
            results.append((min(adapter, key=lambda c: c.per_token_us), min(floor, key=lambda c: c.per_token_us)))
        return results
    finally:
        stop.set()
        server.join(10)
        if server.is_alive():
            server.kill()


def main(argv: Sequence[str] | None = None) -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", default="1,100,300", help="concurrent streams, a comma list")
    parser.add_argument("--max-tokens", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per count; the best is shown")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.streams.split(",") if c.strip()]
    print("| streams | tokens | adapter CPU / token | floor (socket reads) / token | adapter over floor | wall |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for adapter, floor in measure(counts, max_tokens=args.max_tokens, rounds=args.rounds):
        print(f"| {adapter.streams} | {adapter.tokens:,} | {adapter.per_token_us:.1f} µs | "
              f"{floor.per_token_us:.1f} µs | {adapter.per_token_us / max(floor.per_token_us, 1e-9):.1f}x | "
              f"{adapter.wall:.1f} s |")


if __name__ == "__main__":
    main()
