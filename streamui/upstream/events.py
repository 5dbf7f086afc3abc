"""The typed events every upstream yields, whatever speaks to the model.

An upstream is an async iterator of these. The consumer, the commit stage and the
trace recorder only ever see these types, never a provider's wire format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union


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
    "tool",  # a tool the model called failed (site code reports it)
    "internal",  # a bug or an exception in site code
]


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """The upstream failed; what was delivered before stays valid."""

    message: str
    kind: ErrorKind = "internal"
    status: int | None = None
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class End:
    """The upstream finished normally. `reason` is the provider's finish_reason."""

    reason: str = "stop"


Event = Union[
    TextDelta, ReasoningDelta, ToolCallDelta, DraftDelta, Rollback, Confirm, Usage, UpstreamError, End
]

__all__ = [
    "TextDelta",
    "ReasoningDelta",
    "ToolCallDelta",
    "DraftDelta",
    "Rollback",
    "Confirm",
    "Usage",
    "UpstreamError",
    "ErrorKind",
    "End",
    "Event",
]
