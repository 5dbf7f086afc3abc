"""What a server frame does to the chat, read from its HTML (no DOM, no Django).

A frame is JSON: `{"content": "<html>"}`, a string of htmx out-of-band swaps, and/or the
compact operations of streamui.wire (`a`/`h`: text/markup appended into an answer's output,
`z`: frozen blocks moved, `r`: a tail's markup replaced, `f`/`F`: figures, `k`: an answer's
mark, `s`: the status line as `[state, stream, label]`, `u`: the turn `send` appends, cloned
from the widget's template), with `seq` and `stream` on journal frames (either may be
implied); a bare JSON string is a text append alone, and so is a message that does not start
like JSON (with `{` or `"`): the text itself (streamui.wire.payload). A *reveal* is a frame that swaps
anything into an answer's output region (`<widget>-m<id>-out`, or a part of it such as
`-out-tail`, or an element inside it named by the swap's selector), or appends text to it
(`a`, `h`, `r`): one visible update, however many elements it touches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from streamui.wire import read_payload

_OUTPUT_SWAP = re.compile(r'id="[^"]*-m\d+-out(?:-[\w-]+)?"[^>]*\bhx-swap-oob="|hx-swap-oob="\w+:#[^"]*-m\d+-out\b')
_END_STATE = re.compile(r'data-streamui="status"[^>]*\bdata-state="(done|stopped|interrupted)"')
_STREAMING = re.compile(r'data-state="streaming"[^>]*\bdata-stream="([^"]*)"')
_END_STATES = frozenset({"done", "stopped", "interrupted"})
_ERROR = re.compile(r'data-streamui="error"[^>]*>([^<]+)<')


@dataclass(frozen=True, slots=True)
class FrameInfo:
    reveal: bool
    end_state: str | None  # done, stopped, interrupted
    stream_id: str | None  # announced when the stream starts
    error: str | None


def _data(frame: str | bytes) -> dict[str, object]:
    text = frame.decode("utf-8", "replace") if isinstance(frame, (bytes, bytearray)) else frame
    try:
        data = read_payload(text)
    except ValueError:
        return {}  # not a streamui frame: nothing it could reveal
    if isinstance(data, str):
        return {"a": data} if data else {}  # a frame that is only a text append (raw or a JSON string)
    return data if isinstance(data, dict) else {}


def html_of(frame: str | bytes) -> str:
    content = _data(frame).get("content")
    return content if isinstance(content, str) else ""


def read_frame(frame: str | bytes) -> FrameInfo:
    data = _data(frame)
    content = data.get("content")
    html = content if isinstance(content, str) else ""
    end = _END_STATE.search(html)
    started = _STREAMING.search(html)
    error = _ERROR.search(html)
    end_state = end.group(1) if end else None
    stream_id = started.group(1) if started else None
    status = data.get("s")
    if isinstance(status, list) and len(status) >= 2 and isinstance(status[0], str):
        state, stream = status[0], data.get("stream") if status[1] == 0 else status[1]
        if state in _END_STATES:
            end_state = state
        elif state == "streaming" and isinstance(stream, str):
            stream_id = stream
    return FrameInfo(
        reveal=(isinstance(data.get("a"), str) or isinstance(data.get("h"), str) or isinstance(data.get("r"), list)
                or _OUTPUT_SWAP.search(html) is not None),
        end_state=end_state,
        stream_id=stream_id,
        error=error.group(1).strip() if error and error.group(1).strip() else None,
    )


__all__ = ["FrameInfo", "html_of", "read_frame"]
