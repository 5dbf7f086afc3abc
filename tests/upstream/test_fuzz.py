"""Any byte sequence from an upstream ends in a readable state: never an exception, never an empty complete."""

from __future__ import annotations

import asyncio
import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamui.upstream.anthropic import AnthropicUpstream
from streamui.upstream.base import ChatRequest, Message
from streamui.upstream.events import End, UpstreamError
from streamui.upstream.http import HTTPUpstream
from streamui.upstream.openai import OpenAICompatibleUpstream
from streamui.upstream.outcome import Transcript

from .corpus import load

REQUEST = ChatRequest(messages=[Message("user", "Hi")], max_tokens=16)
CORPUS = [shape.body for split in ("tuning", "heldout") for shape in load(split)]

values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["index", "id", "name", "arguments", "content", "type", "text", "message", "error",
                         "delta", "choices", "function", "tool_calls", "finish_reason", "usage", "refusal",
                         "reasoning_content", "thinking", "partial_json", "stop_reason", "content_block",
                         "prompt_tokens", "completion_tokens", "x_groq", "object"]), inner, max_size=4),
    max_leaves=12,
)
payloads = values.map(lambda v: json.dumps(v)) | st.sampled_from(["[DONE]", "", "{", "null", "{\"choices\": ["])
lines = st.one_of(
    payloads.map(lambda p: f"data: {p}"),
    payloads.map(lambda p: f"data:{p}"),
    payloads.map(lambda p: f"error: {p}"),
    st.sampled_from(["event: error", "event: message_start", "event: ping", "event: message_stop",
                     "event: content_block_delta", ": keep-alive", "id: 7", "retry: x", "", "\ufeff"]),
    st.text(max_size=20),
)
sse_bodies = st.lists(lines, max_size=12).map(lambda ls: "\n".join(ls).encode() + b"\n\n")


@st.composite
def mutated_corpus(draw: st.DrawFn) -> bytes:
    body = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 4))):
        if not body:
            break
        at = draw(st.integers(0, len(body) - 1))
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        if op == "flip":
            body[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del body[at:]
        elif op == "insert":
            body[at:at] = draw(st.sampled_from([b"\n\n", b"\r", b"data: [DONE]\n\n", b"error: {}\n\n", b"\xff\xfe",
                                                b'data: {"error": null}\n\n', b"event: error\n", b":\n"]))
        else:
            del body[at : at + draw(st.integers(1, 40))]
    return bytes(body)


bodies = st.one_of(st.binary(max_size=300), sse_bodies, mutated_corpus())


def transport(body: bytes, status: int, content_type: str, split: int) -> httpx.MockTransport:
    async def pieces():  # type: ignore[no-untyped-def]
        for at in range(0, len(body), split):
            yield body[at : at + split]

    return httpx.MockTransport(lambda request: httpx.Response(status, headers={"content-type": content_type},
                                                              content=pieces()))


async def run(upstream: HTTPUpstream) -> Transcript:
    seen = Transcript()
    count = 0
    async for event in upstream.stream(REQUEST):
        assert not seen.finished, f"an event after the end: {event!r}"
        seen.add(event)
        count += 1
    assert seen.finished, "the stream ended without End or UpstreamError"
    if seen.end is not None and seen.state == "complete":
        assert seen.has_answer, "an empty complete answer"
    if seen.error is not None:
        assert seen.error.message.strip()
    return seen


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=bodies,
    status=st.sampled_from([200, 200, 200, 201, 400, 429, 500, 529]),
    content_type=st.sampled_from(["text/event-stream", "application/json", "text/html", "text/plain", ""]),
    split=st.integers(1, 64),
    protocol=st.sampled_from(["openai", "anthropic"]),
    implied_think=st.booleans(),
)
def test_any_bytes_end_in_a_readable_state(body: bytes, status: int, content_type: str, split: int, protocol: str,
                                            implied_think: bool) -> None:
    mock = transport(body, status, content_type, split)
    upstream: HTTPUpstream
    if protocol == "anthropic":
        upstream = AnthropicUpstream(base_url="http://model.test/v1", model="m", api_key="sk-x", transport=mock)
    else:
        upstream = OpenAICompatibleUpstream(base_url="http://model.test/v1", model="m", api_key="sk-x",
                                            implied_think=implied_think, transport=mock)
    asyncio.run(run(upstream))


def test_the_checks_see_an_empty_complete() -> None:
    # The guard is what keeps "complete" from being empty: without it the same body would pass as complete.
    body = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    upstream = OpenAICompatibleUpstream(base_url="http://model.test/v1", model="m",
                                        transport=transport(body, 200, "text/event-stream", 7))
    seen = asyncio.run(run(upstream))
    assert isinstance(seen.error, UpstreamError) and seen.error.kind == "empty"
    assert not isinstance(seen.end, End)
