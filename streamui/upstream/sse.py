"""Server-Sent Events from a byte stream, per the WHATWG spec, with httpx-sse doing the parsing.

httpx-sse's decoders handle line endings (CRLF, CR, LF, split across reads), comments,
multi-line `data:` fields, `event:`/`id:`/`retry:`. Two things real model servers send
need a step before them, and are the reason this module reads bytes itself rather than
using `EventSource.aiter_sse()`:

- a leading byte-order mark: the spec strips one; a plain UTF-8 decode keeps it, and the
  first field name then reads "\\ufeffdata" and the first event is lost;
- llama.cpp's server reports a failure mid-stream as an `error: {...}` *field* (not an
  `event: error` line), then `data: [DONE]`. A spec parser ignores unknown fields, so the
  error would vanish and the stream would look complete; here that line becomes an event
  named "error".

Events with no data are dropped, as the spec says (httpx-sse dispatches them once an
`id:` was seen). An event not terminated by a blank line at the end is incomplete and is
dropped too.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterable, AsyncIterator

from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder, SSELineDecoder  # pinned: requirements.txt

BOM = "\ufeff"
LLAMA_CPP_ERROR_FIELD = "error:"


async def aiter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[ServerSentEvent]:
    """The complete events in `chunks` (raw body bytes, any split), in order."""
    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines = SSELineDecoder()
    events = SSEDecoder()
    started = False
    error_data: str | None = None

    def decoded(line: str) -> ServerSentEvent | None:
        nonlocal error_data
        if line.startswith(LLAMA_CPP_ERROR_FIELD):
            error_data = line[len(LLAMA_CPP_ERROR_FIELD) :].removeprefix(" ")
            return None
        if not line and error_data is not None:
            events.decode("")  # drop whatever else the errored event carried
            event, error_data = ServerSentEvent(event="error", data=error_data), None
            return event
        sse = events.decode(line)
        if sse is None or not sse.data:
            return None
        return sse

    async for chunk in chunks:
        piece = text.decode(chunk)
        if not started:
            if not piece:
                continue
            started = True
            piece = piece.removeprefix(BOM)
            if not piece:
                continue
        for line in lines.decode(piece):
            if (sse := decoded(line)) is not None:
                yield sse
    tail = text.decode(b"", final=True)
    for line in (lines.decode(tail) if tail else []) + lines.flush():
        if (sse := decoded(line)) is not None:
            yield sse


__all__ = ["ServerSentEvent", "aiter_sse"]
