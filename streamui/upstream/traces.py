"""Trace files: JSON lines of timed upstream events (format in docs/ARCHITECTURE.md).

A trace is what one upstream stream looked like on the wire: each event with the
seconds since the request was sent. The benchmark replays traces on a virtual clock,
the simulated upstream replays them on the wall clock, and live streams can be
recorded into them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .events import (
    Confirm,
    DraftDelta,
    End,
    Event,
    ReasoningDelta,
    RefusalDelta,
    Rollback,
    TextDelta,
    ToolCallDelta,
    UpstreamError,
    Usage,
)

TRACE_FORMAT_VERSION = 1


class TraceFormatError(ValueError):
    """A trace line that is not valid; carries the file and line number."""

    def __init__(self, message: str, *, source: str = "<trace>", line: int = 0) -> None:
        super().__init__(f"{source}:{line}: {message}")
        self.source = source
        self.line = line


@dataclass(frozen=True, slots=True)
class TimedEvent:
    t: float
    event: Event


@dataclass(slots=True)
class Trace:
    name: str
    events: list[TimedEvent]
    header: dict[str, object] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The answer text a perfect renderer would end with (drafts resolved)."""
        out: list[str] = []
        draft: list[str] = []
        for timed in self.events:
            ev = timed.event
            if isinstance(ev, TextDelta):
                out.append(ev.text)
            elif isinstance(ev, DraftDelta):
                draft.append(ev.text)
            elif isinstance(ev, Rollback):
                pending = "".join(draft)
                draft = [pending[: max(0, len(pending) - ev.chars)]]
            elif isinstance(ev, Confirm):
                out.extend(draft)
                draft = []
        return "".join(out)

    @property
    def duration(self) -> float:
        return self.events[-1].t if self.events else 0.0


def event_to_json(event: Event) -> dict[str, object]:
    if isinstance(event, TextDelta):
        return {"text": event.text}
    if isinstance(event, ReasoningDelta):
        return {"reasoning": event.text}
    if isinstance(event, RefusalDelta):
        return {"refusal": event.text}
    if isinstance(event, DraftDelta):
        return {"draft": event.text}
    if isinstance(event, Rollback):
        return {"rollback": event.chars}
    if isinstance(event, Confirm):
        return {"confirm": True}
    if isinstance(event, ToolCallDelta):
        return {
            "tool_call": {
                "index": event.index,
                "id": event.call_id,
                "name": event.name,
                "arguments": event.arguments,
            }
        }
    if isinstance(event, Usage):
        return {
            "usage": {
                "prompt_tokens": event.prompt_tokens,
                "completion_tokens": event.completion_tokens,
            }
        }
    if isinstance(event, UpstreamError):
        return {"error": {"message": event.message, "kind": event.kind, "status": event.status}}
    if isinstance(event, End):
        end: dict[str, object] = {"end": True, "reason": event.reason}
        if event.provider_reason is not None:
            end["provider_reason"] = event.provider_reason
        return end
    raise TypeError(f"not an upstream event: {event!r}")


def event_from_json(obj: dict[str, object]) -> Event:
    if "text" in obj:
        return TextDelta(_str(obj["text"], "text"))
    if "reasoning" in obj:
        return ReasoningDelta(_str(obj["reasoning"], "reasoning"))
    if "refusal" in obj:
        return RefusalDelta(_str(obj["refusal"], "refusal"))
    if "draft" in obj:
        return DraftDelta(_str(obj["draft"], "draft"))
    if "rollback" in obj:
        chars = obj["rollback"]
        if not isinstance(chars, int) or isinstance(chars, bool) or chars < 0:
            raise ValueError(f"rollback must be a non-negative integer, got {chars!r}")
        return Rollback(chars)
    if obj.get("confirm") is True:
        return Confirm()
    if "tool_call" in obj:
        call = obj["tool_call"]
        if not isinstance(call, dict):
            raise ValueError("tool_call must be an object")
        return ToolCallDelta(
            index=int(call.get("index", 0)),
            call_id=call.get("id"),
            name=call.get("name"),
            arguments=str(call.get("arguments") or ""),
        )
    if "usage" in obj:
        usage = obj["usage"]
        if not isinstance(usage, dict):
            raise ValueError("usage must be an object")
        return Usage(usage.get("prompt_tokens"), usage.get("completion_tokens"))
    if "error" in obj:
        err = obj["error"]
        if not isinstance(err, dict):
            raise ValueError("error must be an object")
        return UpstreamError(str(err.get("message", "")), err.get("kind", "internal"), err.get("status"))
    if obj.get("end") is True:
        provider_reason = obj.get("provider_reason")
        return End(str(obj.get("reason", "stop")), None if provider_reason is None else str(provider_reason))
    raise ValueError(f"unknown trace event: {sorted(obj)}")


def _str(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {type(value).__name__}")
    return value


def parse_trace(lines: Iterable[str], *, source: str = "<trace>", name: str | None = None) -> Trace:
    header: dict[str, object] = {}
    events: list[TimedEvent] = []
    last_t = 0.0
    for lineno, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TraceFormatError(f"not JSON: {exc.msg}", source=source, line=lineno) from exc
        if not isinstance(obj, dict):
            raise TraceFormatError("each line must be a JSON object", source=source, line=lineno)
        if "streamui_trace" in obj:
            if events:
                raise TraceFormatError("the header must be the first line", source=source, line=lineno)
            header = obj
            continue
        t = obj.get("t")
        if not isinstance(t, (int, float)) or isinstance(t, bool) or t < 0:
            raise TraceFormatError("'t' must be a non-negative number", source=source, line=lineno)
        if t < last_t:
            raise TraceFormatError(f"time goes back ({t} < {last_t})", source=source, line=lineno)
        try:
            event = event_from_json(obj)
        except (ValueError, TypeError) as exc:
            raise TraceFormatError(str(exc), source=source, line=lineno) from exc
        events.append(TimedEvent(float(t), event))
        last_t = float(t)
    trace_name = name or str(header.get("name") or Path(source).stem)
    return Trace(name=trace_name, events=events, header=header)


def load_trace(path: str | Path) -> Trace:
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        return parse_trace(fh, source=str(path), name=None)


def iter_trace_lines(trace: Trace) -> Iterator[str]:
    header = {"streamui_trace": TRACE_FORMAT_VERSION, "name": trace.name, **trace.header}
    header["streamui_trace"] = TRACE_FORMAT_VERSION
    yield json.dumps(header, ensure_ascii=False)
    for timed in trace.events:
        yield json.dumps({"t": round(timed.t, 4), **event_to_json(timed.event)}, ensure_ascii=False)


def write_trace(trace: Trace, out: IO[str]) -> None:
    for line in iter_trace_lines(trace):
        out.write(line + "\n")


class TraceRecorder:
    """Collects a live stream's events with their times, relative to the request."""

    def __init__(self, name: str, started_at: float, header: dict[str, object] | None = None) -> None:
        self._started_at = started_at
        self.trace = Trace(name=name, events=[], header=dict(header or {}))

    def record(self, event: Event, now: float) -> None:
        self.trace.events.append(TimedEvent(max(0.0, now - self._started_at), event))

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            write_trace(self.trace, fh)


__all__ = [
    "TRACE_FORMAT_VERSION",
    "TimedEvent",
    "Trace",
    "TraceFormatError",
    "TraceRecorder",
    "event_from_json",
    "event_to_json",
    "iter_trace_lines",
    "load_trace",
    "parse_trace",
    "write_trace",
]
