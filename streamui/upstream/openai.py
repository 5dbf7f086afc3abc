"""OpenAI-compatible Chat Completions streaming (OpenAI, Azure, vLLM, SGLang, TGI, llama.cpp,
Ollama, LM Studio, DeepSeek, OpenRouter, Groq, Together, Mistral, Gemini, LiteLLM, ...).

`OpenAICompatibleUpstream(base_url=..., model=..., api_key=...)`; `.stream(ChatRequest)`
yields `streamui.upstream.events`. The wire shapes each server family really sends are
read by `openai_chunks.ChunkParser`; transport, pool, errors and cancellation are
`http.HTTPUpstream`'s. `implied_think=True` is for models whose answer opens inside an
implied `<think>` (DeepSeek-R1 distills served without a reasoning parser; see
implied_think.py).
"""

from __future__ import annotations

from typing import Any

from .base import ChatRequest
from .events import End, Event, ReasoningDelta, RefusalDelta, TextDelta, ToolCallDelta, Usage
from .http import DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT, HTTPUpstream, public_url
from .openai_chunks import ChunkParser, MalformedStream


class OpenAIChunkParser(ChunkParser):
    def whole(self, body: Any) -> list[Event]:
        """A non-streamed chat.completion (servers that ignore `stream: true`)."""
        if not isinstance(body, dict) or not isinstance(body.get("choices"), list) or not body["choices"]:
            raise MalformedStream("the model server answered with JSON that is not a chat completion",
                                  self._redact(str(body)[:200]))
        first = body["choices"][0]
        choice: dict[str, Any] = first if isinstance(first, dict) else {}
        found = choice.get("message")
        message: dict[str, Any] = found if isinstance(found, dict) else {}
        events: list[Event] = []
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            events.append(ReasoningDelta(reasoning))
        if isinstance(message.get("content"), str) and message["content"]:
            events.append(TextDelta(message["content"]))
        if isinstance(message.get("refusal"), str) and message["refusal"]:
            events.append(RefusalDelta(message["refusal"]))
        for index, call in enumerate(message.get("tool_calls") or []):
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                arguments = call["function"].get("arguments")
                events.append(ToolCallDelta(index, call.get("id"), call["function"].get("name"),
                                            arguments if isinstance(arguments, str) else ""))
        usage = body.get("usage")
        if isinstance(usage, dict):
            events.append(Usage(usage.get("prompt_tokens"), usage.get("completion_tokens")))
        reason = choice.get("finish_reason")
        refused = isinstance(message.get("refusal"), str) and message["refusal"] and not message.get("content")
        reason = reason if isinstance(reason, str) and reason else "stop"
        events.append(End("refusal", reason) if refused and reason == "stop" else End(reason))
        return events


class OpenAICompatibleUpstream(HTTPUpstream):
    """`OpenAICompatibleUpstream(base_url=, model=, api_key=, ...)`: the keyword arguments of HTTPUpstream."""

    name = "openai"
    endpoint = "/chat/completions"

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": request.max_tokens,
        }
        if request.response_format:
            body["response_format"] = request.response_format
        body.update(request.extra)
        return body

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def parser(self) -> OpenAIChunkParser:
        return OpenAIChunkParser(self._redact)


__all__ = ["DEFAULT_CONNECT_TIMEOUT", "DEFAULT_IDLE_TIMEOUT", "OpenAICompatibleUpstream", "public_url"]
