"""Anthropic's Messages API, natively: Claude without an OpenAI-compatible proxy.

`AnthropicUpstream(base_url="https://api.anthropic.com/v1", model=..., api_key=...)`
is configured like the OpenAI one (named upstreams: BACKEND
"streamui.upstream.anthropic.AnthropicUpstream", OPTIONS its keyword arguments).
`max_tokens` is always sent (the API requires it); system messages go to the top-level
`system`. Stop closes the request exactly as for OpenAI (http.HTTPUpstream).

The stream (https://docs.anthropic.com/en/docs/build-with-claude/streaming):
`message_start` (input usage), per content block `content_block_start` /
`content_block_delta` / `content_block_stop` with `text_delta`, `thinking_delta`,
`signature_delta` (opaque, not shown), `input_json_delta` (tool arguments),
`citations_delta`; `message_delta` (stop_reason, cumulative output usage);
`message_stop`; `ping`; `error` (e.g. overloaded_error) at any point.
"""

from __future__ import annotations

import json
from typing import Any

from httpx_sse import ServerSentEvent

from .base import ChatRequest
from .errors import in_band_error
from .events import End, Event, ReasoningDelta, RefusalDelta, TextDelta, ToolCallDelta, UpstreamError, Usage
from .http import DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT, HTTPUpstream
from .openai_chunks import MalformedStream

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_BASE_URL = "https://api.anthropic.com/v1"

# Anthropic's stop reasons in the vocabulary of `End.reason` (OpenAI's words).
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "refusal",
    "pause_turn": "pause_turn",
}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def end_for(stop_reason: str | None) -> End:
    reason = stop_reason or "end_turn"
    mapped = STOP_REASONS.get(reason, reason)
    return End(mapped, provider_reason=reason if mapped != reason else None)


class MessagesParser:
    def __init__(self, redact: Any = lambda text: text) -> None:
        self._redact = redact
        self._tools: dict[int, int] = {}  # content block index -> tool call index
        self._blocks: dict[int, str] = {}  # content block index -> type
        self.stop_reason: str | None = None
        self._input_tokens: int | None = None

    def feed(self, sse: ServerSentEvent) -> list[Event]:
        try:
            data = json.loads(sse.data)
        except ValueError:
            if sse.event == "error":
                return [self._error(sse.data)]
            raise MalformedStream("the model server sent a malformed event (not JSON)",
                                  self._redact(sse.data[:200])) from None
        if not isinstance(data, dict):
            raise MalformedStream("the model server sent a malformed event (not a JSON object)",
                                  self._redact(sse.data[:200]))
        kind = _str(data.get("type")) or sse.event
        handler = getattr(self, f"_on_{kind}", None) if kind.isidentifier() else None
        return handler(data) if handler is not None else []  # ping, and types added later

    def close(self) -> list[Event]:
        """The body ended without message_stop: a stop reason already sent counts as the end."""
        return [end_for(self.stop_reason)] if self.stop_reason is not None else []

    def whole(self, body: Any) -> list[Event]:
        """A non-streamed Message (a proxy that ignored `stream: true`)."""
        if not isinstance(body, dict) or body.get("type") != "message" or not isinstance(body.get("content"), list):
            raise MalformedStream("the model server answered with JSON that is not a message",
                                  self._redact(str(body)[:200]))
        events: list[Event] = []
        for index, block in enumerate(body["content"]):
            if isinstance(block, dict):
                events.extend(self._on_content_block_start({"index": index, "content_block": block}))
        self._on_message_start({"message": body})
        events.extend(self._on_message_delta({"delta": body, "usage": body.get("usage")}))
        return [*events, *self._on_message_stop({})]

    def _error(self, obj: Any) -> UpstreamError:
        error = in_band_error(obj)
        err = obj.get("error") if isinstance(obj, dict) else None
        status = error.status
        if isinstance(err, dict) and err.get("type") == "overloaded_error":
            status = status or 529
        return UpstreamError(self._redact(error.message), error.kind, status,
                             detail=self._redact(error.detail) if error.detail else None)

    def _on_error(self, data: dict[str, Any]) -> list[Event]:
        return [self._error(data)]

    def _on_message_start(self, data: dict[str, Any]) -> list[Event]:
        message = data.get("message")
        usage = message.get("usage") if isinstance(message, dict) else None
        if isinstance(usage, dict):
            self._input_tokens = _int(usage.get("input_tokens"))
        return []

    def _on_content_block_start(self, data: dict[str, Any]) -> list[Event]:
        index, block = _int(data.get("index")), data.get("content_block")
        if index is None or not isinstance(block, dict):
            return []
        kind = _str(block.get("type"))
        self._blocks[index] = kind
        if kind == "text" and _str(block.get("text")):
            return [TextDelta(block["text"])]
        if kind == "thinking" and _str(block.get("thinking")):
            return [ReasoningDelta(block["thinking"])]
        if kind == "tool_use":
            ours = self._tools.setdefault(index, len(self._tools))
            arguments = block.get("input")
            # Streamed calls start with `input: {}` and send the arguments as input_json_delta.
            whole = json.dumps(arguments, ensure_ascii=False) if isinstance(arguments, dict) and arguments else ""
            return [ToolCallDelta(ours, _str(block.get("id")) or None, _str(block.get("name")) or None, whole)]
        return []  # redacted_thinking, server tool blocks: nothing to show

    def _on_content_block_delta(self, data: dict[str, Any]) -> list[Event]:
        index, delta = _int(data.get("index")), data.get("delta")
        if not isinstance(delta, dict):
            return []
        kind = delta.get("type")
        if kind == "text_delta" and _str(delta.get("text")):
            return [TextDelta(delta["text"])]
        if kind == "thinking_delta" and _str(delta.get("thinking")):
            return [ReasoningDelta(delta["thinking"])]
        if kind == "input_json_delta" and index is not None and _str(delta.get("partial_json")):
            ours = self._tools.setdefault(index, len(self._tools))
            return [ToolCallDelta(ours, arguments=delta["partial_json"])]
        return []  # signature_delta, citations_delta

    def _on_message_delta(self, data: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        delta = data.get("delta")
        if isinstance(delta, dict) and _str(delta.get("stop_reason")):
            self.stop_reason = delta["stop_reason"]
            details = delta.get("stop_details")
            if self.stop_reason == "refusal":
                explanation = _str(details.get("explanation")) if isinstance(details, dict) else ""
                events.append(RefusalDelta(explanation or "The model declined to answer."))
        usage = data.get("usage")
        if isinstance(usage, dict):
            prompt = _int(usage.get("input_tokens"))
            events.append(Usage(prompt if prompt is not None else self._input_tokens, _int(usage.get("output_tokens"))))
        return events

    def _on_message_stop(self, data: dict[str, Any]) -> list[Event]:
        return [end_for(self.stop_reason)]


class AnthropicUpstream(HTTPUpstream):
    name = "anthropic"
    endpoint = "/messages"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        anthropic_version: str = ANTHROPIC_VERSION,
        transport: Any = None,
    ) -> None:
        super().__init__(base_url=base_url, model=model, api_key=api_key, connect_timeout=connect_timeout,
                         idle_timeout=idle_timeout, transport=transport)
        self.anthropic_version = anthropic_version

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        system = "\n\n".join(m.content for m in request.messages if m.role == "system" and m.content)
        messages: list[dict[str, str]] = []
        for m in request.messages:
            if m.role == "system" or not m.content:
                continue  # the API rejects empty content; system goes to the top level
            if messages and messages[-1]["role"] == m.role:
                messages[-1]["content"] += "\n\n" + m.content  # roles must alternate
            else:
                messages.append({"role": m.role, "content": m.content})
        body: dict[str, Any] = {"model": self.model, "max_tokens": request.max_tokens, "messages": messages,
                                "stream": True}
        if system:
            body["system"] = system
        body.update(request.extra)
        return body

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "anthropic-version": self.anthropic_version}
        if self._api_key:
            headers["x-api-key"] = self._api_key
        return headers

    def parser(self) -> MessagesParser:
        return MessagesParser(self._redact)


__all__ = ["ANTHROPIC_VERSION", "STOP_REASONS", "AnthropicUpstream", "MessagesParser", "end_for"]
