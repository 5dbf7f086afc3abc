"""Reasoning for models whose answer opens inside an implied `<think>`.

DeepSeek-R1 and its distills (R1-Distill-Qwen/Llama), QwQ-32B and Qwen3 in thinking mode
ship chat templates that put `<think>\\n` at the end of the prompt. Served without a
reasoning parser (llama.cpp without `--reasoning-format`, vLLM without
`--reasoning-parser`, a plain transformers server, many hosted "OpenAI-compatible"
endpoints), the model's content starts inside the reasoning and only the closing
`</think>` appears: every character before it is reasoning, not answer.

`implied_think()` routes the text before the first `</think>` to `ReasoningDelta`, using
the commit stage's `ThinkSplitter` (so a tag split across chunks is handled the same
way). Two guards keep a wrong setting from hiding an answer:
- if the server already sends reasoning separately (`reasoning_content`), it has a
  parser and the text is the answer: the text passes through unchanged;
- a literal `<think>` at the very start (a template that does not pre-fill it) is dropped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from ..pipeline.think import OPEN_TAG, ThinkSplitter
from .events import End, Event, ReasoningDelta, TextDelta, UpstreamError


def _segments_to_events(segments: Sequence[tuple[str, str]]) -> list[Event]:
    return [ReasoningDelta(text) if channel == "reasoning" else TextDelta(text) for channel, text in segments]


async def implied_think(events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    splitter = ThinkSplitter(start_in_think=True)
    passthrough = False  # the server separates reasoning itself
    head = ""  # the start of the text, until it is known whether it opens with a literal <think>
    head_done = False
    try:
        async for event in events:
            if isinstance(event, ReasoningDelta) and not head and not head_done:
                passthrough = True
            if passthrough or not isinstance(event, (TextDelta, End, UpstreamError)):
                yield event
                continue
            if isinstance(event, TextDelta):
                text = event.text
                if not head_done:
                    head += text
                    stripped = head.lstrip()
                    if OPEN_TAG.startswith(stripped):
                        continue  # could still be a literal "<think>": wait for more
                    head_done = True
                    text = stripped.removeprefix(OPEN_TAG)
                for out in _segments_to_events(splitter.feed(text)):
                    yield out
                continue
            # The end: release what was held back, then the end itself.
            if head and not head_done:
                for out in _segments_to_events(splitter.feed(head.lstrip().removeprefix(OPEN_TAG))):
                    yield out
            for out in _segments_to_events(splitter.flush()):
                yield out
            yield event
    finally:
        await events.aclose()  # type: ignore[attr-defined]


__all__ = ["implied_think"]
