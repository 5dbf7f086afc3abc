"""An example of plugging a site's own LLM code in as the upstream.

settings.STREAMUI["UPSTREAM_CALLABLE"] = "demo.custom_upstream.echo_upstream"

A real site would call its LLM here: the OpenAI SDK's
`client.chat.completions.create(..., stream=True)`, a LangChain `astream`, or its own
agent, and yield each text piece as it arrives. Yielding plain strings is enough;
streamui's events (ReasoningDelta, Usage, ...) can be yielded too.
"""

import asyncio
from collections.abc import AsyncIterator

from streamui.upstream.base import Message


async def echo_upstream(prompt: str, conversation: list[Message]) -> AsyncIterator[str]:
    turns = sum(1 for m in conversation if m.role == "user")
    for word in f"You said: {prompt} (turn {turns})".split(" "):
        await asyncio.sleep(0.02)
        yield word + " "
