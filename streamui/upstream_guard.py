"""A guard around any upstream's event iterator: text that can be stored, and an answer that ends.

- Surrogates (review 3.8 / 3.9). A JSON `\\ud83d` escape decodes to a lone UTF-16 surrogate,
  which no UTF-8 database or socket can encode. A high surrogate at the end of a chunk is held
  back and joined with a low one at the start of the next chunk of the same field (an emoji a
  proxy re-chunked); anything still unpaired becomes U+FFFD. The rest of the text is kept.
- A local cap (review 4.12). `max_tokens` goes upstream, but an upstream that ignores it would
  generate (and bill) for ever: past `request.max_tokens` tokens (tiktoken, counted per chunk)
  or `max_chars` characters of answer, reasoning and tool arguments, the guard ends the stream
  with `End("length")` and closes the upstream iterator, which closes its HTTP request. The
  answer then ends as "cut off", like one the model server cut itself.

Plain Python: no Django, no I/O of its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator
from typing import Any

from .upstream.base import ChatRequest, Upstream
from .upstream.events import DraftDelta, End, Event, ReasoningDelta, TextDelta, ToolCallDelta
from .upstream.tokens import count_tokens

REPLACEMENT = "\ufffd"
_LONE = re.compile(r"[\ud800-\udfff]")
_PAIR = re.compile(r"[\ud800-\udbff][\udc00-\udfff]")


def _join_pairs(text: str) -> str:
    return _PAIR.sub(lambda m: (m.group(0).encode("utf-16", "surrogatepass").decode("utf-16")), text)


class SurrogateRepair:
    """Per field: join surrogate pairs split across chunks, replace lone ones."""

    def __init__(self) -> None:
        self._pending: dict[str, str] = {}

    def feed(self, field: str, text: str) -> str:
        text = self._pending.pop(field, "") + text
        if not text or not _LONE.search(text):
            return text
        if "\ud800" <= text[-1] <= "\udbff":  # a high surrogate: its pair may be in the next chunk
            self._pending[field] = text[-1]
            text = text[:-1]
        return _LONE.sub(REPLACEMENT, _join_pairs(text))

    def flush(self) -> dict[str, str]:
        """What is still held back, replaced (the stream ended with half a pair)."""
        left = {k: REPLACEMENT for k, v in self._pending.items() if v}
        self._pending.clear()
        return left


def clean_text(text: str) -> str:
    """Any str made encodable: pairs joined, lone surrogates replaced."""
    return _LONE.sub(REPLACEMENT, _join_pairs(text)) if _LONE.search(text) else text


@dataclasses.dataclass(slots=True)
class _Budget:
    max_tokens: int
    max_chars: int
    tokens: int = 0
    chars: int = 0
    # A token is at least one UTF-8 byte: while the tokens counted plus the bytes not yet counted
    # are within the cap, so are the tokens, and the chunks wait here uncounted (most answers end
    # before: no tiktoken at all). Past it, what waits is counted at once, as one text (a count per
    # chunk cost a tiktoken call per token past the cap; a run is tokenized whole, as the model's text
    # is, so its count can differ from the chunks' counts either way by a little: token_slack).
    _pending: list[str] = dataclasses.field(default_factory=list)
    _pending_bytes: int = 0

    def spend(self, text: str) -> bool:
        """Count `text`; True while still within the cap."""
        self.chars += len(text)
        self._pending.append(text)
        self._pending_bytes += len(text.encode("utf-8", "surrogatepass"))
        if self.tokens + self._pending_bytes <= self.max_tokens:
            return self.chars <= self.max_chars
        self.tokens += count_tokens("".join(self._pending))
        self._pending.clear()
        self._pending_bytes = 0
        return self.tokens <= self.max_tokens and self.chars <= self.max_chars


class GuardedUpstream:
    """Wraps an upstream; every other attribute (name, model, ...) is the wrapped one's."""

    def __init__(self, upstream: Upstream, *, max_chars: int, token_slack: int = 8) -> None:
        self._upstream = upstream
        self.max_chars = max_chars
        self.token_slack = token_slack  # per-chunk counts run a little over the model's own
        self.capped = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._upstream, name)

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        budget = _Budget(request.max_tokens + self.token_slack, self.max_chars)
        repair = SurrogateRepair()
        source = self._upstream.stream(request)
        async with contextlib.aclosing(source) as events:  # type: ignore[type-var]
            async for received in events:
                event = _repaired(received, repair)
                if event is None:
                    continue
                if isinstance(event, End):
                    for field, text in repair.flush().items():
                        if field == "text":
                            yield TextDelta(text)
                    yield event
                    return
                spent = _spent_text(event)
                if spent and not budget.spend(spent):
                    self.capped = True
                    yield End("length")
                    return  # leaving the `async with` closes the upstream request
                yield event


def _repaired(event: Event, repair: SurrogateRepair) -> Event | None:
    if isinstance(event, TextDelta):
        text = repair.feed("text", event.text)
        return (event if text == event.text else TextDelta(text)) if text else None
    if isinstance(event, ReasoningDelta):
        text = repair.feed("reasoning", event.text)
        return ReasoningDelta(text) if text else None
    if isinstance(event, DraftDelta):
        text = repair.feed("draft", event.text)
        return DraftDelta(text) if text else None
    if isinstance(event, ToolCallDelta):
        return dataclasses.replace(
            event,
            call_id=clean_text(event.call_id) if event.call_id else event.call_id,
            name=clean_text(event.name) if event.name else event.name,
            arguments=repair.feed(f"tool{event.index}", event.arguments) if event.arguments else event.arguments,
        )
    return event


def _spent_text(event: Event) -> str:
    if isinstance(event, (TextDelta, ReasoningDelta, DraftDelta)):
        return event.text
    if isinstance(event, ToolCallDelta):
        return event.arguments or ""
    return ""


__all__ = ["REPLACEMENT", "GuardedUpstream", "SurrogateRepair", "clean_text"]
