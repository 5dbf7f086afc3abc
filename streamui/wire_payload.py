"""A frame as the websocket message the widget reads (streamui.js), and back. Plain Python, no Django.

Three kinds of message:

- JSON (it starts with `{` or `"`): the frame, or the JSON string of a lone text append;
- a digit and then markup (`Features.raw_markup`): a lone `h` into the output the socket named
  last, the digit the depth of its path (`h` with `p` of that many `*`: the last element child,
  whatever its tag, which the tail's open path always is). A markup append is a fifth of an
  answer's frames and its JSON escaping (`\\n`, `\\"`) and envelope were a fifth of their bytes;
- anything else: a text append, the text itself (`Features.raw_text`). One that starts with a
  digit goes as its JSON string, so it is not read as markup.
"""

from __future__ import annotations

import json
from typing import Any, Final

from .wire_features import ALL_ON, Features

_JSON_START: Final = frozenset('{"')  # a message starting so is JSON
_DIGITS: Final = frozenset("0123456789")  # ... so, markup; any other is a raw text append
ANY_TAG: Final = "*"  # a step of a raw markup message's path: the last element child, any tag
_MAX_DEPTH: Final = 9


def _raw_markup(frame: dict[str, Any]) -> str | None:
    """`depth` + markup for a frame that is only `h` into the socket's last output, else None."""
    path = frame.get("p")
    markup = frame.get("h")
    if len(frame) != 2 or not isinstance(path, str) or not isinstance(markup, str):
        return None
    if path and not path.startswith(" "):
        return None  # it names its output: the widget learns it from this frame
    depth = path.count(" ")
    return None if depth > _MAX_DEPTH else f"{depth}{markup}"


def payload(frame: dict[str, Any] | str, features: Features = ALL_ON) -> str:
    """The websocket message of a frame: its JSON, or for a lone text append (a `str` frame) the
    text itself when it cannot be taken for JSON or markup (`Features.raw_text`): a text append is
    the bulk of a stream's frames, and its two quotes and escaped newlines were a tenth of its bytes."""
    if isinstance(frame, str):
        if features.raw_text and frame and frame[0] not in _JSON_START and not (
                features.raw_markup and frame[0] in _DIGITS):
            return frame
    elif features.raw_markup and "h" in frame and (raw := _raw_markup(frame)) is not None:
        return raw
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def read_payload(message: str) -> dict[str, Any] | str:
    """A websocket message back into its frame, as streamui.js reads it: a `str` is a text append
    (raw, or a JSON string), a digit's message a markup append, anything else the JSON object
    (ValueError for broken JSON)."""
    first = message[:1]
    if first and first in _DIGITS:
        return {"h": message[1:], "p": f" {ANY_TAG}" * int(first)}
    if first not in _JSON_START:
        return message
    frame: dict[str, Any] | str = json.loads(message)
    return frame


__all__ = ["ANY_TAG", "payload", "read_payload"]
