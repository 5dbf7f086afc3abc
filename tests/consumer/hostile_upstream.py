from collections.abc import AsyncIterator

from streamui.upstream.base import Message


async def hostile(prompt: str, conversation: list[Message]) -> AsyncIterator[str]:
    yield "<script>alert(1)</script> "
    yield '"><b onmouseover=x>'
