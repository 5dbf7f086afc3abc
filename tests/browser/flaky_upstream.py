"""A site's own upstream that fails mid-answer the first time it sees a prompt (for the Retry test)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

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
