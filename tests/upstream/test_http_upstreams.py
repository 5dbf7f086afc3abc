"""Both HTTP adapters over a real replay server: Stop closes the request, the pool is shared, requests are right."""

from __future__ import annotations

import asyncio

import pytest

from streamui.upstream.anthropic import ANTHROPIC_VERSION, AnthropicUpstream
from streamui.upstream.base import ChatRequest, Message
from streamui.upstream.events import End, ReasoningDelta, TextDelta, UpstreamError
from streamui.upstream.http import HTTPUpstream
from streamui.upstream.implied_think import implied_think
from streamui.upstream.openai import OpenAICompatibleUpstream
from tests.support.replay_server import ReplayServer, Reply

REQUEST = ChatRequest(messages=[Message("system", "Be brief."), Message("user", "Hi"), Message("user", "Still there?")],
                      max_tokens=77)


def _event(name: str, data: str) -> bytes:
    return f"event: {name}\ndata: {data}\n\n".encode()


ANTHROPIC_SLOW = b"".join(
    [_event("message_start", '{"type":"message_start","message":{"usage":{"input_tokens":3,"output_tokens":1}}}'),
     _event("content_block_start",
            '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}')]
    + [_event("content_block_delta",
              '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"w "}}')] * 200
    + [_event("message_stop", '{"type":"message_stop"}')])
OPENAI_SLOW = b"".join([b'data: {"choices":[{"index":0,"delta":{"content":"w "}}]}\n\n'] * 200
                       + [b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'])


def make(kind: str, server: ReplayServer) -> HTTPUpstream:
    if kind == "anthropic":
        return AnthropicUpstream(base_url=server.base_url, model="claude-test", api_key="sk-ant-secret")
    return OpenAICompatibleUpstream(base_url=server.base_url, model="m", api_key="sk-secret")


@pytest.mark.parametrize(("kind", "body"), [("anthropic", ANTHROPIC_SLOW), ("openai", OPENAI_SLOW)])
async def test_stop_closes_the_request(kind: str, body: bytes) -> None:
    async with ReplayServer() as server:
        # One event per piece, 50 ms apart: the whole answer would take 10 s.
        server.replies.append(Reply(body, split=(len(body) // 202,), pause=0.05))
        received: list[str] = []

        async def consume() -> None:
            async for event in make(kind, server).stream(REQUEST):
                if isinstance(event, TextDelta):
                    received.append(event.text)

        task = asyncio.create_task(consume())
        while len(received) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(200):
            if server.seen[0].disconnected_at is not None:
                break
            await asyncio.sleep(0.01)
        seen = server.seen[0]
        assert seen.disconnected_at is not None, "the server never saw the client go away"
        assert not seen.finished
        assert seen.pieces_sent < 50


async def test_anthropic_request_shape() -> None:
    async with ReplayServer() as server:
        server.replies.append(Reply(ANTHROPIC_SLOW))
        events = [e async for e in make("anthropic", server).stream(REQUEST)]
        assert isinstance(events[-1], End) and events[-1].provider_reason == "end_turn"
        seen = server.seen[0]
        assert seen.path == "/v1/messages"
        assert seen.headers["x-api-key"] == "sk-ant-secret"
        assert seen.headers["anthropic-version"] == ANTHROPIC_VERSION
        assert "authorization" not in seen.headers
        assert seen.json["max_tokens"] == 77 and seen.json["stream"] is True
        assert seen.json["system"] == "Be brief."
        # Consecutive user turns are merged: the API wants roles to alternate.
        assert seen.json["messages"] == [{"role": "user", "content": "Hi\n\nStill there?"}]


async def test_one_pool_per_upstream_and_loop() -> None:
    async with ReplayServer() as server:
        upstream = make("openai", server)
        server.replies += [Reply(OPENAI_SLOW), Reply(OPENAI_SLOW)]
        assert [e async for e in upstream.stream(REQUEST)][-1] == End("stop")
        first = upstream.client()
        assert [e async for e in upstream.stream(REQUEST)][-1] == End("stop")
        assert upstream.client() is first and not first.is_closed
        await upstream.aclose()
        assert first.is_closed


@pytest.mark.parametrize(("kind", "body"), [("anthropic", ANTHROPIC_SLOW), ("openai", OPENAI_SLOW)])
async def test_a_finished_stream_leaves_its_connection_for_the_next(kind: str, body: bytes) -> None:
    async with ReplayServer() as server:
        upstream = make(kind, server)
        server.replies += [Reply(body, split=(500,), keep_alive=True) for _ in range(3)]
        for _ in range(3):
            assert isinstance([e async for e in upstream.stream(REQUEST)][-1], End)
        assert len({seen.peer for seen in server.seen}) == 1, [seen.peer for seen in server.seen]


async def test_error_messages_keep_secrets_and_transport_text_out() -> None:
    async with ReplayServer() as server:
        server.replies.append(Reply(b'{"error": {"message": "bad key sk-secret"}}', 401, "application/json"))
        events = [e async for e in make("openai", server).stream(REQUEST)]
    assert isinstance(events[-1], UpstreamError)
    assert "sk-secret" not in events[-1].message and "[redacted]" in events[-1].message
    url = server.base_url
    events = [e async for e in OpenAICompatibleUpstream(base_url=url, model="m").stream(REQUEST)]
    error = events[-1]
    assert isinstance(error, UpstreamError) and error.kind == "refused"
    assert error.message == f"could not connect to the model server at {url}"
    assert error.detail and "ConnectError" in error.detail


async def _events(*items: object):  # type: ignore[no-untyped-def]
    for item in items:
        yield item


async def test_implied_think_leaves_servers_with_a_reasoning_parser_alone() -> None:
    events = [e async for e in implied_think(_events(ReasoningDelta("r"), TextDelta("The answer."), End()))]
    assert events == [ReasoningDelta("r"), TextDelta("The answer."), End()]


async def test_implied_think_drops_a_literal_opening_tag() -> None:
    events = [e async for e in implied_think(_events(TextDelta(" <thi"), TextDelta("nk>plan</think>\nDone."), End()))]
    assert events == [ReasoningDelta("plan"), TextDelta("Done."), End()]


def test_named_upstreams_build_the_anthropic_adapter_and_the_implied_think_option() -> None:
    from django.test import override_settings

    from streamui.upstream.registry import get_upstream

    named = {"claude": {"BACKEND": "streamui.upstream.anthropic.AnthropicUpstream",
                        "OPTIONS": {"base_url": "http://claude.test/v1", "model": "claude-x", "api_key": "sk-ant"}},
             "r1": {"BACKEND": "streamui.upstream.openai.OpenAICompatibleUpstream",
                    "OPTIONS": {"base_url": "http://r1.test/v1", "model": "r1-distill", "implied_think": True}}}
    with override_settings(STREAMUI={"UPSTREAMS": named, "UPSTREAM_URL": "http://default.test/v1",
                                     "UPSTREAM_IMPLIED_THINK": True}):
        claude = get_upstream("claude")
        assert isinstance(claude, AnthropicUpstream) and claude.url == "http://claude.test/v1/messages"
        r1 = get_upstream("r1")
        assert isinstance(r1, OpenAICompatibleUpstream) and r1.implied_think
        default = get_upstream("openai")
        assert isinstance(default, OpenAICompatibleUpstream) and default.implied_think


@pytest.mark.parametrize("call", ['{"index": "x"}', '{"index": 0, "function": "f"}', '{"index": true, "id": 5}',
                                  '{"function": {"name": ["a"], "arguments": {"city": "Paris"}}}'])
async def test_hostile_tool_call_fields_do_not_escape(call: str) -> None:
    # The architecture review (3.10) reproduced a bare ValueError from {"index": "x"} with the old adapter.
    body = (f'data: {{"choices":[{{"index":0,"delta":{{"tool_calls":[{call}]}}}}]}}\n\n'
            'data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\ndata: [DONE]\n\n').encode()
    async with ReplayServer() as server:
        server.replies.append(Reply(body))
        events = [e async for e in make("openai", server).stream(REQUEST)]
    assert isinstance(events[-1], (End, UpstreamError))
