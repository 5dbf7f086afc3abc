"""Progressive JSON parser: stable partial values and events while a document streams in.

`PartialJSONParser.feed(chunk)` takes the next piece of the text and returns the events
it caused; `value` is the snapshot so far; `close()` returns the final value or raises
`PartialJSONError`. The parser keeps its state between chunks, so the total work is
proportional to the document however it is chunked (string bodies are scanned in bulk
with a regular expression, never re-read).

Stability guarantees (each one holds for every snapshot, at every chunking):
- A value never changes type: once a path is in `value`, it keeps its JSON type.
- An object key appears only when the key is complete (and its value has started).
- Numbers, `true`, `false` and `null` appear only when complete, with their final value
  (a number is complete when the character after it arrives, or at `close()`).
- Strings only grow at the end, and never show half an escape sequence: a trailing
  backslash, an unfinished `\\uXXXX` or the first half of an escaped surrogate pair is
  held back until it is resolved.
- Arrays and objects only gain members at the end, or have their last member grow; an
  array item or object member that is not the last one is final.
- Hence every snapshot is a prefix-consistent view of the final value.
- The one exception is what RFC 8259 leaves open and json.loads resolves as "the last
  wins": a duplicate object key replaces the earlier member's value (in the earlier
  member's position). Its `ValueStarted` or `ScalarCompleted` event names a path that
  already exists.

Events (see partial_json_events.py): KeyCompleted, ItemAppended, ValueStarted, StringGrew,
ScalarCompleted and ContainerClosed, each naming the path it concerns.

Grammar: strict RFC 8259, with json.loads' values (int for integer literals, float
otherwise, `1e999` becomes inf, lone escaped surrogates are kept). Unlike json.loads
it rejects NaN and Infinity, and it enforces a nesting limit with a clear error. Input
is text (str): offsets count characters. Invalid input raises at the first character
that no continuation could make valid; input that is only unfinished raises at
`close()`.

`value` is the parser's live structure: later chunks keep mutating the same dicts and
lists (copy it to keep a snapshot). Reading it costs the length of the string that is
currently open, since Python strings are immutable; `feed` itself never pays that.
"""

from __future__ import annotations

import re
from typing import Any, Final

from .partial_json_events import (
    ContainerClosed,
    Event,
    ItemAppended,
    JSONKind,
    KeyCompleted,
    PartialJSONError,
    Path,
    Scalar,
    ScalarCompleted,
    StringGrew,
    ValueStarted,
)
from .partial_json_scan import (
    _AFTER,
    _COLON,
    _DONE,
    _KEY,
    _KEY_OR_CLOSE,
    _LITERAL,
    _NUM_FINAL,
    _NUMBER,
    _S_PLAIN,
    _STRING,
    _VALUE,
    _VALUE_OR_CLOSE,
    ScalarScanner,
    _all_plain,
)

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "ContainerClosed",
    "Event",
    "ItemAppended",
    "JSONKind",
    "KeyCompleted",
    "PartialJSONError",
    "PartialJSONParser",
    "Path",
    "Scalar",
    "ScalarCompleted",
    "StringGrew",
    "ValueStarted",
]

# json.loads itself stops near Python's recursion limit (1000); JSONTestSuite's
# i_structure_500_nested_arrays must still parse.
DEFAULT_MAX_DEPTH: Final = 512

_WS_CHARS: Final = " \t\n\r"
_WS = re.compile(r"[ \t\n\r]*")
_VALUE_STARTS: Final = frozenset('"{[-0123456789tfn')


class _Frame:
    """An open array or object."""

    __slots__ = ("container", "index", "is_object", "key", "path")

    def __init__(self, container: dict[str, Any] | list[Any], path: Path, is_object: bool) -> None:
        self.container = container
        self.path = path
        self.is_object = is_object
        self.key = ""  # the member whose value comes next (objects)
        self.index = -1  # the current item (arrays)


class PartialJSONParser(ScalarScanner):
    """Feed text chunks, get events and a stable snapshot; see the module docstring.

    This class keeps the structure (open containers, keys, paths, the snapshot) and
    dispatches on the grammar; `ScalarScanner` (partial_json_scan.py) reads the scalars.
    """

    def __init__(self, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        super().__init__()
        self.max_depth = max_depth
        self._state = _VALUE
        self._stack: list[_Frame] = []
        self._root: Any = None
        self._has_root = False
        self._offset = 0  # characters consumed by earlier chunks
        self._error: PartialJSONError | None = None
        self._finished = False

    # -- public API ---------------------------------------------------------------------

    @property
    def value(self) -> Any:
        """The snapshot so far (None until the top-level value has started)."""
        if not self._synced:
            self._sync_string()
        return self._root

    @property
    def has_value(self) -> bool:
        """Whether the top-level value has entered the snapshot (tells null from nothing yet)."""
        return self._has_root

    @property
    def offset(self) -> int:
        """Characters consumed so far."""
        return self._offset

    @property
    def done(self) -> bool:
        """The top-level value is complete (only whitespace may follow)."""
        return self._state == _DONE

    def feed(self, chunk: str) -> list[Event]:
        """Consume the next piece of text; return the events it caused, in order."""
        if self._error is not None:
            raise self._error
        if self._finished:
            raise RuntimeError("feed() after close()")
        if self._state == _STRING and self._esc == _S_PLAIN and _all_plain(chunk):
            # Fast path for the common chunk, plain text inside a string. Inline, not a
            # ScalarScanner method: it runs for most chunks and a call would add to each.
            self._offset += len(chunk)
            self._parts.append(chunk)
            if self._is_key:
                return []
            self._flushed = len(self._parts)
            self._synced = False
            return [StringGrew(self._str_path, chunk)]
        events: list[Event] = []
        try:
            self._run(chunk, events)
        except PartialJSONError as exc:
            self._flush(events)
            exc.events = events
            self._error = exc
            raise
        self._flush(events)
        self._offset += len(chunk)
        return events

    def finish(self) -> list[Event]:
        """End of input: the events it completes (a trailing top-level number), or raise."""
        if self._error is not None:
            raise self._error
        if self._finished:
            return []
        events: list[Event] = []
        if self._state == _NUMBER and not self._stack and self._num_state in _NUM_FINAL:
            try:
                self._end_number(events)
            except PartialJSONError as exc:
                self._error = exc
                raise
        if self._state != _DONE:
            self._error = PartialJSONError(f"Unexpected end of input ({self._expecting()})", self._offset)
            raise self._error
        self._finished = True
        return events

    def close(self) -> Any:
        """End of input: the final value, or raise PartialJSONError."""
        self.finish()
        return self.value

    # -- snapshot helpers ---------------------------------------------------------------

    def _child_path(self) -> Path:
        if not self._stack:
            return ()
        frame = self._stack[-1]
        return frame.path + ((frame.key,) if frame.is_object else (frame.index,))

    def _put(self, value: Any) -> None:
        """Set the current member's value: new for containers and scalars, updated for strings."""
        if not self._stack:
            self._root = value
            self._has_root = True
            return
        frame = self._stack[-1]
        container: Any = frame.container  # a dict when frame.is_object, else a list
        if frame.is_object:
            container[frame.key] = value
        elif self._state == _STRING and len(container) == frame.index + 1:
            container[-1] = value
        else:
            container.append(value)

    def _after_value(self) -> None:
        self._state = _AFTER if self._stack else _DONE

    def _expecting(self) -> str:
        return {
            _VALUE: "expecting a value",
            _VALUE_OR_CLOSE: "expecting a value or ']'",
            _KEY_OR_CLOSE: "expecting a key or '}'",
            _KEY: "expecting a key",
            _COLON: "expecting ':'",
            _AFTER: "expecting ',' or a closing bracket",
            _STRING: "unterminated string",
            _NUMBER: "unfinished number",
            _LITERAL: f"unfinished {self._lit}",
        }.get(self._state, "")

    # -- the machine ----------------------------------------------------------------------

    def _run(self, s: str, events: list[Event]) -> None:
        i = 0
        n = len(s)
        base = self._offset
        while i < n:
            state = self._state
            if state == _STRING:
                i = self._scan_string(s, i, n, events)
                continue
            if state == _NUMBER:
                i = self._scan_number(s, i, n, events)
                continue
            if state == _LITERAL:
                i = self._scan_literal(s, i, n, events)
                continue
            c = s[i]
            if c in _WS_CHARS:
                i = _WS.match(s, i).end()  # type: ignore[union-attr]
                continue
            if state == _AFTER:
                frame = self._stack[-1]
                if c == ",":
                    self._state = _KEY if frame.is_object else _VALUE
                elif c == ("}" if frame.is_object else "]"):
                    self._close_container(events)
                else:
                    raise PartialJSONError(
                        "Expecting ',' delimiter or '" + ("}" if frame.is_object else "]") + "'", base + i
                    )
                i += 1
            elif state in (_VALUE, _VALUE_OR_CLOSE):
                if c == "]" and state == _VALUE_OR_CLOSE:
                    self._close_container(events)
                    i += 1
                else:
                    i = self._start_value(s, i, c, events, base)
            elif state in (_KEY_OR_CLOSE, _KEY):
                if c == '"':
                    self._begin_string(True, self._stack[-1].path)
                elif c == "}" and state == _KEY_OR_CLOSE:
                    self._close_container(events)
                else:
                    raise PartialJSONError("Expecting property name enclosed in double quotes", base + i)
                i += 1
            elif state == _COLON:
                if c != ":":
                    raise PartialJSONError("Expecting ':' delimiter", base + i)
                self._state = _VALUE
                i += 1
            else:  # _DONE
                raise PartialJSONError("Extra data", base + i)

    def _start_value(self, s: str, i: int, c: str, events: list[Event], base: int) -> int:
        if c not in _VALUE_STARTS:
            raise PartialJSONError("Expecting value", base + i)
        stack = self._stack
        if (c == "{" or c == "[") and len(stack) >= self.max_depth:
            raise PartialJSONError(f"Nesting deeper than {self.max_depth} levels", base + i)
        if stack and not stack[-1].is_object:
            frame = stack[-1]
            frame.index += 1
            path = (*frame.path, frame.index)
            events.append(ItemAppended(path))
        else:
            path = self._child_path()
        if c == '"':
            events.append(ValueStarted(path, "string"))
            self._begin_string(False, path)
            self._put("")
            return i + 1
        if c == "{" or c == "[":
            is_object = c == "{"
            container: dict[str, Any] | list[Any] = {} if is_object else []
            events.append(ValueStarted(path, "object" if is_object else "array"))
            self._put(container)
            stack.append(_Frame(container, path, is_object))
            self._state = _KEY_OR_CLOSE if is_object else _VALUE_OR_CLOSE
            return i + 1
        if c == "-" or "0" <= c <= "9":
            events.append(ValueStarted(path, "number"))
            self._begin_number(path, base + i)
            return i
        events.append(ValueStarted(path, "null" if c == "n" else "boolean"))
        self._begin_literal(c, path)
        return i

    def _close_container(self, events: list[Event]) -> None:
        frame = self._stack.pop()
        events.append(ContainerClosed(frame.path, frame.container))
        self._after_value()

    def _complete_key(self, key: str, events: list[Event]) -> None:
        frame = self._stack[-1]
        frame.key = key
        events.append(KeyCompleted((*frame.path, key)))
        self._state = _COLON
