"""The typed events every upstream yields, whatever speaks to the model.

An upstream is an async iterator of these. The consumer, the commit stage and the
trace recorder only ever see these types, never a provider's wire format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class TextDelta:
    """Answer text, as the upstream delivered it."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """Reasoning ("thinking") text; never mixed into the answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a tool call: the name arrives once, the arguments as streamed JSON."""

    index: int
    call_id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class RefusalDelta:
    """The model declined to answer: the provider's refusal text (OpenAI `delta.refusal`,
    Anthropic's `stop_reason: "refusal"` explanation). Never part of the answer."""

    text: str


@dataclass(frozen=True, slots=True)
class DraftDelta:
    """Provisional text (speculative decoding): never shown until confirmed."""

    text: str


@dataclass(frozen=True, slots=True)
class Rollback:
    """Drop the last `chars` characters of unconfirmed draft."""

    chars: int


@dataclass(frozen=True, slots=True)
class Confirm:
    """All draft so far is final."""


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


ErrorKind = Literal[
    "refused",  # could not connect
    "http",  # 4xx / 5xx answer
    "rate_limited",  # 429
    "dropped",  # connection lost mid-stream
    "malformed",  # the stream did not parse
    "timeout",  # no bytes for too long
    "empty",  # the stream finished normally but carried no answer (no text, tool call or refusal)
    "tool",  # a tool the model called failed (site code reports it)
    "internal",  # a bug or an exception in site code
]


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """The upstream failed; what was delivered before stays valid.

    `message` is for the user and carries the provider's own words where it sent any;
    `detail` is the technical side (the transport exception, a body excerpt) for logs and
    a "details" disclosure, never the headline.
    """

    message: str
    kind: ErrorKind = "internal"
    status: int | None = None
    retry_after: float | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class End:
    """The upstream finished normally.

    `reason` is the finish reason in OpenAI's words ("stop", "length", "tool_calls",
    "content_filter") plus "refusal"; an adapter whose provider says it differently
    (Anthropic's "end_turn", "max_tokens", ...) maps it and keeps the provider's word in
    `provider_reason`. `end_state(reason)` says what the user should be told.
    """

    reason: str = "stop"
    provider_reason: str | None = None


EndState = Literal["complete", "cut_off", "refused"]

# Reasons that end an answer before the model finished it: the token limit, a provider's
# content filter, an Anthropic server-tool pause.
CUT_OFF_REASONS = frozenset({"length", "content_filter", "pause_turn"})


def end_state(reason: str) -> EndState:
    """What a normal end means for the user: a complete answer, one cut off, or a refusal."""
    if reason == "refusal":
        return "refused"
    if reason in CUT_OFF_REASONS:
        return "cut_off"
    return "complete"


Event = (
    TextDelta | ReasoningDelta | RefusalDelta | ToolCallDelta | DraftDelta | Rollback | Confirm | Usage | UpstreamError
    | End
)

__all__ = [
    "CUT_OFF_REASONS",
    "Confirm",
    "DraftDelta",
    "End",
    "EndState",
    "ErrorKind",
    "Event",
    "ReasoningDelta",
    "RefusalDelta",
    "Rollback",
    "TextDelta",
    "ToolCallDelta",
    "UpstreamError",
    "Usage",
    "end_state",
]
