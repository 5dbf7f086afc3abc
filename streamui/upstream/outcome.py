"""What a stream of upstream events amounts to, and the guard every HTTP adapter runs.

`Transcript` folds events into the end state a user sees: the answer, the reasoning, a
refusal, tool calls, usage, and how it ended (complete, cut off, refused, interrupted).

`guarded()` makes any event stream end in exactly one readable state: one terminal
event (`End` or `UpstreamError`) and nothing after it; a stream that stops without one
is "dropped"; a normal end that carried nothing the user could read (no text, no tool
call, no refusal) is an "empty" error, never an empty complete answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

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
    end_state,
)

State = Literal["streaming", "complete", "cut_off", "refused", "interrupted"]


@dataclass(slots=True)
class ToolCall:
    call_id: str | None = None
    name: str = ""
    arguments: str = ""


@dataclass(slots=True)
class Transcript:
    text: str = ""
    reasoning: str = ""
    refusal: str = ""
    draft: str = ""
    tool_calls: dict[int, ToolCall] = field(default_factory=dict)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    end: End | None = None
    error: UpstreamError | None = None

    def add(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self.text += event.text
        elif isinstance(event, ReasoningDelta):
            self.reasoning += event.text
        elif isinstance(event, RefusalDelta):
            self.refusal += event.text
        elif isinstance(event, DraftDelta):
            self.draft += event.text
        elif isinstance(event, Rollback):
            self.draft = self.draft[: max(0, len(self.draft) - event.chars)]
        elif isinstance(event, Confirm):
            self.text, self.draft = self.text + self.draft, ""
        elif isinstance(event, ToolCallDelta):
            call = self.tool_calls.setdefault(event.index, ToolCall())
            call.call_id = call.call_id or event.call_id
            call.name += event.name or ""  # as the tool-call widget does: names may arrive in pieces
            call.arguments += event.arguments
        elif isinstance(event, Usage):
            self.prompt_tokens = event.prompt_tokens if event.prompt_tokens is not None else self.prompt_tokens
            if event.completion_tokens is not None:
                self.completion_tokens = event.completion_tokens
        elif isinstance(event, UpstreamError):
            self.error = event
        elif isinstance(event, End):
            self.end = event

    @property
    def has_answer(self) -> bool:
        """Anything the user can read as the model's answer (reasoning alone is not one)."""
        return bool(self.text.strip() or self.tool_calls or self.refusal.strip() or self.draft.strip())

    @property
    def state(self) -> State:
        if self.error is not None:
            return "interrupted"
        if self.end is None:
            return "streaming"
        return end_state(self.end.reason)

    @property
    def finished(self) -> bool:
        return self.error is not None or self.end is not None


def empty_answer(transcript: Transcript, end: End) -> UpstreamError:
    what = "only reasoning and no answer" if transcript.reasoning.strip() else "no answer"
    return UpstreamError(
        f"the model server finished (finish reason {end.provider_reason or end.reason!r}) but sent {what}",
        "empty",
        detail=f"finish_reason={end.provider_reason or end.reason}",
    )


async def guarded(events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    """`events` with exactly one terminal event last, and no empty complete answer."""
    seen = Transcript()
    try:
        async for event in events:
            if isinstance(event, End) and end_state(event.reason) == "complete" and not seen.has_answer:
                yield empty_answer(seen, event)
                return
            seen.add(event)
            yield event
            if seen.finished:
                return
    finally:
        # Stop reading at the terminal event: this closes the HTTP response behind `events`.
        await events.aclose()  # type: ignore[attr-defined]
    yield UpstreamError("the model server closed the stream before it finished", "dropped",
                        detail="the body ended without a finish event")


__all__ = ["State", "ToolCall", "Transcript", "empty_answer", "guarded"]
