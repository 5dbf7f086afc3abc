"""A site's own LLM code as an upstream: a dotted path to an async generator.

The generator is called as `fn(prompt: str, conversation: list[Message])` and yields
streamui events (TextDelta, ReasoningDelta, ...) or plain strings, which count as
answer text. An exception it raises becomes an UpstreamError: the widget shows the
text so far as interrupted, the log gets the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from django.utils.module_loading import import_string

from .base import ChatRequest, Message
from .events import End, Event, ReasoningDelta, TextDelta, ToolCallDelta, UpstreamError, Usage

logger = logging.getLogger("streamui.upstream")

_EVENT_TYPES = (TextDelta, ReasoningDelta, ToolCallDelta, Usage, UpstreamError, End)


class CallableUpstream:
    def __init__(self, target: str | Callable[..., Any]) -> None:
        self.path = target if isinstance(target, str) else f"{target.__module__}.{target.__qualname__}"
        self._fn: Callable[..., Any] = import_string(target) if isinstance(target, str) else target
        self.name = "custom"

    def __repr__(self) -> str:
        return f"CallableUpstream({self.path!r})"

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        conversation: list[Message] = list(request.messages)
        ended = False
        try:
            async for item in self._fn(request.prompt, conversation):
                if isinstance(item, str):
                    if item:
                        yield TextDelta(item)
                elif isinstance(item, _EVENT_TYPES):
                    ended = ended or isinstance(item, (End, UpstreamError))
                    yield item
                else:
                    raise TypeError(f"{self.path} yielded {type(item).__name__}, expected str or a streamui event")
        except Exception as exc:  # site code: any failure is an upstream failure, not a crash
            logger.exception("custom upstream %s failed", self.path)
            yield UpstreamError(f"the site's LLM code failed: {type(exc).__name__}: {exc}", "internal")
            return
        if not ended:
            yield End("stop")


__all__ = ["CallableUpstream"]
