"""A site's own extensions, named by dotted path in STREAMUI by the settings tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from streamui import (
    ChatRequest,
    CorrectionPolicy,
    End,
    Event,
    FoundCorrection,
    Passthrough,
    Resolution,
    TextDelta,
    Usage,
    WidgetRegistry,
)


class Shouting(Passthrough):
    """Reveals what arrives, at once, upper-cased: easy to see in a test."""

    name = "shouting"

    def push(self, text: str, now: float) -> None:
        super().push(text.upper(), now)


class KeepBoth(CorrectionPolicy):
    """Keeps the retracted phrase and the correction, as passthrough does, but still detects."""

    name = "keep-both"

    def resolve(self, found: FoundCorrection) -> Resolution:
        return Resolution(keep=found.phrase + found.between + found.opener + found.after)


class EchoUpstream:
    """An upstream class configured with OPTIONS: answers with `prefix` and the prompt."""

    name = "echo"

    def __init__(self, *, prefix: str = "You said:", words_per_event: int = 1) -> None:
        self.prefix = prefix
        self.words_per_event = words_per_event

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        words = f"{self.prefix} {request.prompt}".split(" ")
        for start in range(0, len(words), self.words_per_event):
            yield TextDelta(" ".join(words[start:start + self.words_per_event]) + " ")
        yield Usage(prompt_tokens=1, completion_tokens=len(words))
        yield End("stop")


RECIPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Recipe",
    "properties": {"dish": {"type": "string", "title": "Dish"}, "minutes": {"type": "number", "title": "Minutes"}},
    "required": ["dish", "minutes"],
}


def recipe_widgets() -> WidgetRegistry:
    registry = WidgetRegistry()
    registry.register("minutes", "badge", label="Ready in")
    return registry


NOT_A_STRATEGY = 42
