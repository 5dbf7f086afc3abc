"""One chat-completions request as the fake LLM server sees it.

What the body asks for (messages, limits, streaming), what the `model` field asks for (a
profile, then `+`-separated faults such as "steady+drop@20"), and the record the server
keeps of what happened to the request, which GET /_fake/requests returns.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..upstream.base import ChatRequest, Message
from .fake_http import HTTPError
from .profiles import PROFILES


@dataclass(slots=True)
class RequestRecord:
    id: str
    model: str
    profile: str
    faults: list[str]
    max_tokens: int | None
    started_at: float
    messages: list[dict[str, str]] = field(default_factory=list)
    authorization: bool = False
    response_format: dict[str, Any] | None = None
    tokens_generated: int = 0
    tokens_after_disconnect: int = 0
    disconnected_at: float | None = None
    finished_at: float | None = None
    outcome: str = "streaming"  # streaming, done, disconnected, fault


@dataclass(slots=True)
class Faults:
    http_status: int | None = None
    drop_after: int | None = None
    malformed_after: int | None = None
    hang_after: int | None = None
    utf8split: bool = False
    force_stall: bool | None = None
    names: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, parts: list[str]) -> Faults:
        faults = cls(names=parts)
        for part in parts:
            name, _, arg = part.partition("@")
            if name.startswith("http") and name[4:].isdigit():
                faults.http_status = int(name[4:])
            elif name == "drop":
                faults.drop_after = int(arg or 0)
            elif name == "malformed":
                faults.malformed_after = int(arg or 0)
            elif name == "hang":
                faults.hang_after = int(arg or 0)
            elif name == "utf8split":
                faults.utf8split = True
            elif name == "stall":
                faults.force_stall = True
            elif name == "nostall":
                faults.force_stall = False
            else:
                raise ValueError(f"unknown fault {part!r}")
        return faults


@dataclass(slots=True)
class CompletionRequest:
    chat: ChatRequest
    model: str
    profile: str
    faults: Faults
    stream: bool
    include_usage: bool


def parse_completion_request(body: bytes, default_profile: str) -> CompletionRequest:
    """The request in a POST /v1/chat/completions body; HTTPError 400 when it is not one."""
    try:
        data = json.loads(body)
        model = str(data.get("model") or default_profile)
        messages = [Message(m["role"], str(m.get("content") or "")) for m in data["messages"]]
        max_tokens = data.get("max_tokens") or data.get("max_completion_tokens")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise HTTPError(400, f"invalid request: {exc}") from None
    name, *fault_parts = model.split("+")
    profile = name if name in PROFILES else default_profile
    try:
        faults = Faults.parse(fault_parts)
    except ValueError as exc:
        raise HTTPError(400, str(exc)) from None
    response_format = data.get("response_format") if isinstance(data.get("response_format"), dict) else None
    chat = ChatRequest(messages=messages, max_tokens=int(max_tokens) if max_tokens else 4096,
                       response_format=response_format)
    include_usage = bool((data.get("stream_options") or {}).get("include_usage"))
    return CompletionRequest(chat=chat, model=model, profile=profile, faults=faults, stream=bool(data.get("stream")),
                             include_usage=include_usage)


def start_record(request: CompletionRequest, *, authorization: bool) -> RequestRecord:
    """A fresh record for `request`, with the id its response chunks carry."""
    return RequestRecord(id=f"chatcmpl-{uuid.uuid4().hex[:12]}", model=request.model, profile=request.profile,
                         faults=request.faults.names, max_tokens=request.chat.max_tokens, started_at=time.time(),
                         messages=[{"role": m.role, "content": m.content} for m in request.chat.messages],
                         authorization=authorization, response_format=request.chat.response_format)


__all__ = ["CompletionRequest", "Faults", "RequestRecord", "parse_completion_request", "start_record"]
