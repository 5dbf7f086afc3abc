"""The one small interface every upstream implements."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from .events import Event

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatRequest:
    """What the widget asks for: the whole conversation, newest prompt last."""

    messages: Sequence[Message]
    max_tokens: int
    profile: str | None = None  # simulated upstream only: a timing profile name
    response_format: dict[str, object] | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return ""


class Upstream(Protocol):
    """Something that turns a request into a stream of events.

    Cancelling the task that iterates the stream must release the upstream
    (close the HTTP response): that is what stops the model and the bill.
    """

    name: str

    def stream(self, request: ChatRequest) -> AsyncIterator[Event]: ...


__all__ = ["ChatRequest", "Message", "Role", "Upstream"]
