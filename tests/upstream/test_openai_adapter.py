"""The OpenAI-compatible adapter against the fake LLM server over real HTTP."""

from __future__ import annotations

import asyncio
import time

import pytest

from streamui.testing.fake_server import FakeLLMServer
from streamui.testing.simulated import trace_for_request
from streamui.upstream.base import ChatRequest, Message
from streamui.upstream.events import End, Event, ReasoningDelta, TextDelta, UpstreamError, Usage
from streamui.upstream.openai import OpenAICompatibleUpstream

PROMPT = "Can a minor sue or be sued?"


def request(max_tokens: int = 40) -> ChatRequest:
    return ChatRequest(messages=[Message("system", "Be brief."), Message("user", PROMPT)], max_tokens=max_tokens)


def adapter(server: FakeLLMServer, model: str, **kwargs: float) -> OpenAICompatibleUpstream:
    return OpenAICompatibleUpstream(base_url=server.base_url, model=model, api_key="sk-test", **kwargs)


async def collect(upstream: OpenAICompatibleUpstream, req: ChatRequest | None = None) -> list[Event]:
    return [event async for event in upstream.stream(req or request())]


def text_of(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_streams_the_simulated_answer_over_http(fake_llm: FakeLLMServer) -> None:
    events = await collect(adapter(fake_llm, "steady"))
    expected = trace_for_request(request(), profile="steady").text
    assert text_of(events) == expected
    assert isinstance(events[-1], End) and events[-1].reason == "length"
    usage = [e for e in events if isinstance(e, Usage)]
    assert usage and usage[0].completion_tokens == 40
    assert fake_llm.records[0].max_tokens == 40  # every request sets max_tokens
    assert fake_llm.records[0].authorization


async def test_reasoning_deltas_stay_out_of_the_answer(fake_llm: FakeLLMServer) -> None:
    events = await collect(adapter(fake_llm, "reasoning"), request(max_tokens=400))
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert reasoning.startswith("Let me restate")
    assert "Let me restate" not in text_of(events)
    first_reasoning = next(i for i, e in enumerate(events) if isinstance(e, ReasoningDelta))
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert first_reasoning < first_text


async def test_utf8_split_across_chunks_is_joined(fake_llm: FakeLLMServer) -> None:
    # Every byte of the SSE stream arrives in its own HTTP chunk, so multi-byte characters
    # (the corpus answer has curly quotes) are split across network reads.
    events = await collect(adapter(fake_llm, "steady+utf8split"), request(max_tokens=60))
    text = text_of(events)
    assert text == trace_for_request(request(max_tokens=60), profile="steady").text
    assert "\ufffd" not in text
    assert any(ord(ch) > 127 for ch in text)


@pytest.mark.parametrize(
    ("model", "kind", "status"),
    [("steady+http500", "http", 500), ("steady+http400", "http", 400), ("steady+http429", "rate_limited", 429)],
)
async def test_http_errors_become_upstream_errors(fake_llm: FakeLLMServer, model: str, kind: str, status: int) -> None:
    events = await collect(adapter(fake_llm, model))
    assert len(events) == 1 and isinstance(events[0], UpstreamError)
    assert events[0].kind == kind and events[0].status == status
    assert f"HTTP {status}" in events[0].message
    if status == 429:
        assert events[0].retry_after == 2.0 and "retry after 2 s" in events[0].message


async def test_dropped_mid_stream_keeps_text_and_reports(fake_llm: FakeLLMServer) -> None:
    events = await collect(adapter(fake_llm, "steady+drop@12"))
    assert sum(isinstance(e, TextDelta) for e in events) == 12
    assert isinstance(events[-1], UpstreamError) and events[-1].kind == "dropped"


async def test_malformed_sse_line_is_reported(fake_llm: FakeLLMServer) -> None:
    events = await collect(adapter(fake_llm, "steady+malformed@5"))
    assert sum(isinstance(e, TextDelta) for e in events) == 5
    assert isinstance(events[-1], UpstreamError) and events[-1].kind == "malformed"
    assert "malformed" in events[-1].message


async def test_connection_refused() -> None:
    server = FakeLLMServer()
    await server.start()
    url = server.base_url
    await server.stop()
    upstream = OpenAICompatibleUpstream(base_url=url, model="steady")
    events = await collect(upstream)
    assert len(events) == 1 and isinstance(events[0], UpstreamError) and events[0].kind == "refused"


async def test_idle_timeout(fake_llm: FakeLLMServer) -> None:
    events = await collect(adapter(fake_llm, "steady+hang@3", idle_timeout=0.3))
    assert sum(isinstance(e, TextDelta) for e in events) == 3
    assert isinstance(events[-1], UpstreamError) and events[-1].kind == "timeout"


async def test_cancelling_the_consumer_closes_the_connection(fake_llm: FakeLLMServer) -> None:
    fake_llm.speed = 1.0
    received: list[str] = []

    async def consume() -> None:
        async for event in adapter(fake_llm, "steady").stream(request(max_tokens=400)):
            if isinstance(event, TextDelta):
                received.append(event.text)

    task = asyncio.create_task(consume())
    while len(received) < 5:
        await asyncio.sleep(0.01)
    cancelled_at = time.time()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if fake_llm.records[0].disconnected_at is not None:
            break
        await asyncio.sleep(0.01)
    record = fake_llm.records[0]
    assert record.disconnected_at is not None
    assert record.disconnected_at - cancelled_at < 0.1
    await asyncio.sleep(0.2)  # the server would have generated ~9 more tokens by now
    assert record.tokens_after_disconnect <= 1
    assert record.tokens_generated <= len(received) + 1
    assert record.outcome == "disconnected"


def test_api_key_is_sent_but_never_shown() -> None:
    upstream = OpenAICompatibleUpstream(base_url="http://x/v1", model="m", api_key="sk-secret")
    assert "sk-secret" not in repr(upstream)
    assert upstream.payload(request())["max_tokens"] == 40


async def test_a_process_streams_more_answers_at_once_than_httpx_pools_by_default(fake_llm: FakeLLMServer) -> None:
    """Issue 9: the one shared client per loop held at most httpx's default 100 connections, so
    stream 101 waited for one, then failed with a pool timeout (seen at 300 streams in
    tools.bench.upstream_cost). The answers here take ~2.5 s; the pool's wait (the connect timeout)
    is 2 s."""
    fake_llm.speed = 1.0
    upstream = adapter(fake_llm, "steady", connect_timeout=2.0)
    try:
        results = await asyncio.gather(*(collect(upstream, request(max_tokens=400)) for _ in range(120)))
    finally:
        await upstream.aclose()
    failed = [r[-1] for r in results if isinstance(r[-1], UpstreamError)]
    assert not failed, f"{len(failed)} of 120 failed: {failed[0]}"
    assert all(isinstance(r[-1], End) for r in results)
