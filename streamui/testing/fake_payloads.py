"""The OpenAI-shaped bodies the fake LLM server answers with.

A stream is SSE `data:` events of `chat.completion.chunk` objects, one delta per upstream
event, ending in `[DONE]`; a plain answer is one `chat.completion` object. Events that
OpenAI has no field for travel as `streamui_*` delta fields.
"""

from __future__ import annotations

import json
from typing import Any

from ..upstream.events import Confirm, DraftDelta, ReasoningDelta, Rollback, TextDelta, ToolCallDelta
from .fake_request import RequestRecord
from .profiles import PROFILES

DONE_EVENT = b"data: [DONE]\n\n"
MALFORMED_EVENT = b'data: {"choices": [{"delta": {"content": "unterminated\n\n'


def models_list() -> dict[str, Any]:
    return {"object": "list", "data": [
        {"id": name, "object": "model", "owned_by": "streamui-fake"} for name in PROFILES]}


def completion_body(record: RequestRecord, text: str) -> dict[str, Any]:
    return {
        "id": record.id, "object": "chat.completion", "model": record.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": record.tokens_generated},
    }


def delta_for(event: object) -> dict[str, Any] | None:
    """The chunk delta carrying `event`, or None for events a stream does not send as a delta."""
    if isinstance(event, TextDelta):
        return {"content": event.text}
    if isinstance(event, ReasoningDelta):
        return {"reasoning_content": event.text}
    if isinstance(event, DraftDelta):
        return {"streamui_draft": event.text}
    if isinstance(event, Rollback):
        return {"streamui_rollback": event.chars}
    if isinstance(event, Confirm):
        return {"streamui_confirm": True}
    if isinstance(event, ToolCallDelta):
        call: dict[str, Any] = {"index": event.index, "function": {"arguments": event.arguments}}
        if event.call_id:
            call["id"] = event.call_id
            call["type"] = "function"
        if event.name:
            call["function"]["name"] = event.name
        return {"tool_calls": [call]}
    return None


def chunk_event(record: RequestRecord, choice: dict[str, Any]) -> bytes:
    payload = {"id": record.id, "object": "chat.completion.chunk", "created": int(record.started_at),
               "model": record.model, "choices": [{"index": 0, **choice}]}
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


def usage_event(record: RequestRecord, completion_tokens: int) -> bytes:
    """The `stream_options.include_usage` chunk: no choices, only the token counts."""
    payload = {"id": record.id, "object": "chat.completion.chunk", "model": record.model,
               "choices": [], "usage": {"prompt_tokens": 0, "completion_tokens": completion_tokens}}
    return f"data: {json.dumps(payload)}\n\n".encode()


__all__ = ["DONE_EVENT", "MALFORMED_EVENT", "chunk_event", "completion_body", "delta_for", "models_list",
           "usage_event"]
