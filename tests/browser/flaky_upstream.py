"""A site's own upstream that fails mid-answer the first time it sees a prompt (for the Retry test)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from streamui.upstream.base import Message

_seen: set[str] = set()


async def fails_first_time(prompt: str, conversation: list[Message]) -> AsyncIterator[str]:
    first = prompt not in _seen
    _seen.add(prompt)
    for word in ["Here", "is", "the", "beginning", "of", "an", "answer", "that"]:
        await asyncio.sleep(0.03)
        yield word + " "
    if first:
        raise ConnectionError("the model server went away")
    for word in ["will", "finish", "this", "time,", "in", "full."]:
        await asyncio.sleep(0.03)
        yield word + " "


MARKDOWN_PROMPT = "markdown:"
MARKDOWN = (Path(__file__).with_name("markdown_answer.md")).read_text(encoding="utf-8")


async def fails_first_time_or_markdown(prompt: str, conversation: list[Message]) -> AsyncIterator[str]:
    """`fails_first_time`, except a prompt starting with `markdown:`: then every markdown shape, in
    small pieces (lists, code, headings, a table), for the compact-frame tests."""
    if not prompt.startswith(MARKDOWN_PROMPT):
        async for piece in fails_first_time(prompt, conversation):
            yield piece
        return
    for start in range(0, len(MARKDOWN), 4):
        await asyncio.sleep(0.01)
        yield MARKDOWN[start:start + 4]
