"""The websocket message protocol: what the widget may send, validated before anything acts on it.

The widget (htmx's ws extension) sends a JSON object: the form's fields plus a
`headers` object htmx adds. Anything else is answered with an error frame and the
connection stays up.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

ACTIONS = ("send", "stop", "new", "timing", "resume")


class ProtocolError(ValueError):
    """A message the server will not act on; the text is shown to the user."""


@dataclass(frozen=True, slots=True)
class ClientMessage:
    action: str
    prompt: str = ""
    conversation: str = ""
    upstream: str = ""
    strategy: str = ""
    compare: str = ""  # a second strategy: the side-by-side view
    policy: str = ""  # the correction policy of the commit stage
    output: str = ""  # "text" (markdown) or "json" (structured output widgets)
    stream: str = ""
    after: int = 0  # resume: the last sequence number the widget has
    figures: bool = False  # the page shows live figures: the stream sends them (else no frame carries them)
    timings: Any = None


def _field(data: dict[str, Any], name: str, max_len: int = 200) -> str:
    value = data.get(name, "")
    if isinstance(value, list):  # htmx sends repeated form fields as a list; take the last
        value = value[-1] if value else ""
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ProtocolError(f"field {name!r} must be a string")
    text = str(value)
    if len(text) > max_len:
        raise ProtocolError(f"field {name!r} is too long")
    try:
        text.encode("utf-8")  # a lone surrogate (legal in a JSON escape) is not text anyone can store
    except UnicodeEncodeError:
        raise ProtocolError(f"field {name!r} is not valid text") from None
    return text


def parse_message(raw: str | bytes | None, *, max_bytes: int, max_prompt_chars: int) -> ClientMessage:
    if raw is None:
        raise ProtocolError("empty message")
    size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
    if size > max_bytes:
        raise ProtocolError(f"message too large ({size} bytes; the limit is {max_bytes})")
    try:
        data = json.loads(raw, parse_constant=_no_constants)
    except RecursionError:
        raise ProtocolError("malformed message: nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("malformed message: not JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("malformed message: expected a JSON object")
    action = _field(data, "action", 20) or ("send" if "prompt" in data else "")
    if action not in ACTIONS:
        raise ProtocolError(f"unknown action {action!r}")
    # The prompt is checked against the user-facing limit by streams.start_stream (inline error), so allow
    # a little over it here and only reject what cannot be a prompt at all.
    prompt = _field(data, "prompt", max_prompt_chars * 4)
    return ClientMessage(
        action=action,
        prompt=prompt,
        conversation=_field(data, "conversation", 64),
        upstream=_field(data, "upstream", 100),
        strategy=_field(data, "strategy", 50),
        compare=_field(data, "compare", 50),
        policy=_field(data, "policy", 50),
        output=_field(data, "output", 10),
        stream=_field(data, "stream", 64),
        after=_sequence(data.get("after", 0)),
        figures=_field(data, "figures", 5) in ("1", "true", "on"),
        timings=_timings(data.get("timings")) if action == "timing" else None,
    )


def parse_form(data: Any, *, max_prompt_chars: int) -> ClientMessage:
    """A form POST (the SSE transport) as a client message: the same fields, the same checks."""
    fields = {key: data.get(key, "") for key in ("prompt", "conversation", "upstream", "strategy", "compare",
                                                 "policy", "output", "figures")}
    return parse_message(json.dumps({"action": "send", **fields}), max_bytes=max_prompt_chars * 8 + 4096,
                         max_prompt_chars=max_prompt_chars)


MAX_TIMING_MARKS = 20_000


def _timings(value: Any) -> dict[str, list[float]]:
    """Client-observed timing: milliseconds at which fragments landed, finite numbers only."""
    marks = value.get("marks") if isinstance(value, dict) else None
    if not isinstance(marks, list) or len(marks) > MAX_TIMING_MARKS:
        raise ProtocolError("timing marks must be a list of numbers")
    if not all(isinstance(m, (int, float)) and not isinstance(m, bool) and math.isfinite(m) for m in marks):
        raise ProtocolError("timing marks must be finite numbers")  # 1e400 parses as inf
    return {"marks": [round(float(m), 2) for m in marks]}


MAX_VALID_MARKS = 5_000
MAX_MARK_MS = 30 * 60 * 1000.0  # half an hour after the send
MAX_MARK_GAP_MS = 30_000.0  # no stream streams, then pauses half a minute between fragments


def validate_timings(value: Any) -> dict[str, list[float]]:
    """Client-reported timings the dashboard may use (review 2.14): few enough, in order, within
    half an hour, no gap over 30 s. Anything else is refused, so fake marks cannot skew an arm."""
    marks = _timings(value)["marks"]
    if len(marks) > MAX_VALID_MARKS:
        raise ProtocolError(f"too many timing marks (the limit is {MAX_VALID_MARKS})")
    if any(m < 0 or m > MAX_MARK_MS for m in marks):
        raise ProtocolError("timing marks must be milliseconds within the stream")
    if any(b < a or b - a > MAX_MARK_GAP_MS for a, b in itertools.pairwise(marks)):
        raise ProtocolError("timing marks must increase, with no gap over 30 s")
    return {"marks": marks}


def _no_constants(name: str) -> Any:
    # json.loads accepts NaN and Infinity; JSON (and the database's JSON columns) do not.
    raise ValueError(f"{name} is not JSON")


def _sequence(value: Any) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**53:
        raise ProtocolError("'after' must be a non-negative integer")
    return value


__all__ = ["ACTIONS", "ClientMessage", "ProtocolError", "parse_form", "parse_message", "validate_timings"]
