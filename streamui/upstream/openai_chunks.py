"""Chat Completions stream chunks (as OpenAI-compatible servers really send them) to events.

Plain Python, no I/O: `ChunkParser.feed(sse)` takes one Server-Sent Event and returns
the events it carries; `close()` says how a body that ended without `[DONE]` ended.
What it accepts beyond OpenAI's own chunks, and from whom (the corpus in
tests/upstream/shapes/ has a byte-exact stream for each):

- reasoning as `reasoning_content` (DeepSeek, vLLM, SGLang, llama.cpp, LM Studio),
  `reasoning` (OpenRouter, Groq, Ollama, vLLM >= 0.10) or only `reasoning_details`
  (OpenRouter); Mistral's list-valued `content` with `thinking` parts;
- `delta.refusal` (OpenAI structured outputs): a refusal, not an empty answer;
- tool calls without `index` or with `"index": null` (Gemini's OpenAI endpoint,
  Mistral), with every parallel call at index 0 but its own id (some proxies), names
  repeated on every delta;
- usage in `usage`, or only in `x_groq.usage` (Groq), or on every chunk (xAI);
- an error as a chunk (`{"error": ...}`, vLLM's `{"object": "error"}`, TGI's
  `{"error": "..."}`, OpenRouter's error with `finish_reason: "error"`), as an
  `event: error`, or as llama.cpp's `error:` field (see sse.py).
"""

from __future__ import annotations

import json
from typing import Any

from httpx_sse import ServerSentEvent

from .errors import in_band_error
from .events import (
    Confirm,
    DraftDelta,
    End,
    Event,
    ReasoningDelta,
    RefusalDelta,
    Rollback,
    TextDelta,
    ToolCallDelta,
    UpstreamError,
    Usage,
)

DONE = "[DONE]"
# Event names that carry chunks; anything else named (keep-alives, progress) is skipped unless it parses.
CHUNK_EVENTS = frozenset({"", "message", "chunk", "completion", "delta"})


class MalformedStream(ValueError):
    """The stream did not parse; the message is safe to show, `detail` is the excerpt."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


class ToolIndexer:
    """Gives each tool call its own index, whatever the server put in `index`."""

    def __init__(self) -> None:
        self._by_key: dict[int, int] = {}  # the server's index -> ours
        self._ids: dict[str, int] = {}  # call id -> ours
        self._id_of: dict[int, str] = {}  # ours -> call id
        self._names: dict[int, str] = {}
        self._last: int | None = None

    def _new(self) -> int:
        return max(self._names, default=-1) + 1

    def index(self, server_index: int | None, call_id: str | None) -> int:
        if call_id and call_id in self._ids:
            ours = self._ids[call_id]
        elif server_index is not None and server_index in self._by_key and not (
                call_id and self._id_of.get(self._by_key[server_index], call_id) != call_id):
            ours = self._by_key[server_index]
        elif server_index is None and not call_id and self._last is not None:
            ours = self._last  # an index-less continuation of the call in progress
        else:
            ours = self._new()
        if server_index is not None:
            self._by_key[server_index] = ours
        if call_id:
            self._ids[call_id] = ours
            self._id_of.setdefault(ours, call_id)
        self._names.setdefault(ours, "")
        self._last = ours
        return ours

    def name_piece(self, ours: int, name: str | None) -> str | None:
        """The part of `name` that is new: servers that repeat the whole name on each delta send none."""
        if not name:
            return None
        known = self._names.get(ours, "")
        if name == known:
            return None
        self._names[ours] = known + name
        return name


class ChunkParser:
    def __init__(self, redact: Any = lambda text: text) -> None:
        self._redact = redact
        self._tools = ToolIndexer()
        self.finish_reason: str | None = None
        self._text_seen = False
        self._refusal_seen = False

    def feed(self, sse: ServerSentEvent) -> list[Event]:
        data = sse.data.strip()
        if sse.event == "error":
            return [self._error(_loads_or_text(data))]
        if data == DONE:
            return [self._end()]
        try:
            chunk = json.loads(data)
        except ValueError:
            if sse.event not in CHUNK_EVENTS:
                return []
            raise MalformedStream("the model server sent a malformed event (not JSON)",
                                  self._redact(data[:200])) from None
        if not isinstance(chunk, dict):
            if sse.event not in CHUNK_EVENTS:
                return []
            raise MalformedStream("the model server sent a malformed event (not a JSON object)",
                                  self._redact(data[:200]))
        if chunk.get("error") or chunk.get("object") == "error":
            return [self._error(chunk)]
        return self._chunk(chunk)

    def close(self) -> list[Event]:
        """The body ended without `[DONE]`: a finish reason seen before counts as the end."""
        return [self._end()] if self.finish_reason is not None else []

    def _end(self) -> End:
        reason = self.finish_reason or "stop"
        if self._refusal_seen and not self._text_seen and reason == "stop":
            return End("refusal", provider_reason=reason)
        return End(reason)

    def _error(self, obj: Any) -> UpstreamError:
        error = in_band_error(obj)
        return UpstreamError(self._redact(error.message), error.kind, error.status,
                             detail=self._redact(error.detail) if error.detail else None)

    def _chunk(self, chunk: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if not isinstance(choice, dict) or _int(choice.get("index")) not in (None, 0):
                continue  # n > 1 is not requested; other choices are not this answer
            delta = choice.get("delta")
            if isinstance(delta, dict):
                events.extend(self._delta(delta))
            reason = choice.get("finish_reason")
            if isinstance(reason, str) and reason:
                self.finish_reason = reason
        usage = chunk.get("usage")
        if not isinstance(usage, dict):
            x_groq = chunk.get("x_groq")
            usage = x_groq.get("usage") if isinstance(x_groq, dict) else None
        if isinstance(usage, dict):
            events.append(Usage(_int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens"))))
        return events

    def _delta(self, delta: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        reasoning = _text(delta.get("reasoning_content")) or _text(delta.get("reasoning"))
        if not reasoning and isinstance(delta.get("reasoning_details"), list):
            reasoning = "".join(_text(d.get("text")) or _text(d.get("summary"))
                                for d in delta["reasoning_details"] if isinstance(d, dict))
        if reasoning:
            events.append(ReasoningDelta(reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            events.append(TextDelta(content))
        elif isinstance(content, list):
            events.extend(_content_parts(content))
        if any(isinstance(e, TextDelta) for e in events):
            self._text_seen = True
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            self._refusal_seen = True
            events.append(RefusalDelta(refusal))
        # streamui's extension for speculative decoding (the fake server emits these).
        if isinstance(delta.get("streamui_draft"), str):
            events.append(DraftDelta(delta["streamui_draft"]))
            self._text_seen = True
        if _int(delta.get("streamui_rollback")) is not None:
            events.append(Rollback(max(0, delta["streamui_rollback"])))
        if delta.get("streamui_confirm") is True:
            events.append(Confirm())
        calls = delta.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict):
                events.extend(self._tool_call(call))
        return events

    def _tool_call(self, call: dict[str, Any]) -> list[Event]:
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        call_id = _text(call.get("id")) or None
        ours = self._tools.index(_int(call.get("index")), call_id)
        name = self._tools.name_piece(ours, _text(function.get("name")) or None)
        arguments = function.get("arguments")
        if isinstance(arguments, (dict, list)):  # a few servers send parsed arguments
            arguments = json.dumps(arguments, ensure_ascii=False)
        arguments = _text(arguments)
        if call_id is None and name is None and not arguments:
            return []
        return [ToolCallDelta(index=ours, call_id=call_id, name=name, arguments=arguments)]


def _content_parts(parts: list[Any]) -> list[Event]:
    """Mistral's list-valued content: text parts and thinking parts (themselves text parts)."""
    events: list[Event] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "thinking":
            thinking = part.get("thinking")
            text = thinking if isinstance(thinking, str) else "".join(
                _text(p.get("text")) for p in thinking if isinstance(p, dict)) if isinstance(thinking, list) else ""
            if text:
                events.append(ReasoningDelta(text))
        elif part.get("type") in ("text", None) and _text(part.get("text")):
            events.append(TextDelta(part["text"]))
    return events


def _loads_or_text(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


__all__ = ["DONE", "ChunkParser", "MalformedStream", "ToolIndexer"]
