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

Events (frozen dataclasses; `path` is a tuple of keys and indices, () for the top level):
- `KeyCompleted(path)`: an object key is complete (path[-1] is the key);
- `ItemAppended(path)`: an array item begins (path[-1] is its index);
- `ValueStarted(path, kind)`: a value begins; kind is object, array, string, number,
  boolean or null;
- `StringGrew(path, text)`: the string at path grew by text (one event per chunk);
- `ScalarCompleted(path, value)`: a string, number, boolean or null is complete;
- `ContainerClosed(path, value)`: an array or object is complete.
For every string, its StringGrew texts concatenate to its ScalarCompleted value.

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
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

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

Path: TypeAlias = tuple[str | int, ...]
JSONKind: TypeAlias = Literal["object", "array", "string", "number", "boolean", "null"]
Scalar: TypeAlias = str | int | float | bool | None

# json.loads itself stops near Python's recursion limit (1000); JSONTestSuite's
# i_structure_500_nested_arrays must still parse.
DEFAULT_MAX_DEPTH: Final = 512


class PartialJSONError(ValueError):
    """The document is invalid (or unfinished, at close()) at character `offset`."""

    def __init__(self, msg: str, offset: int, events: list[Event] | None = None) -> None:
        super().__init__(f"{msg} at offset {offset}")
        self.msg = msg
        self.offset = offset
        self.events: list[Event] = events if events is not None else []
        """Events of the failing chunk up to the fault, so consumers keep what was valid."""


@dataclass(frozen=True, slots=True)
class KeyCompleted:
    """An object key is complete; `path[-1]` is the key. Its value has not started yet."""

    path: Path


@dataclass(frozen=True, slots=True)
class ItemAppended:
    """A new array item begins; `path[-1]` is its index."""

    path: Path


@dataclass(frozen=True, slots=True)
class ValueStarted:
    """A value begins at `path`. Strings, arrays and objects enter `value` now (empty);
    numbers, booleans and null only at their ScalarCompleted."""

    path: Path
    kind: JSONKind


@dataclass(frozen=True, slots=True)
class StringGrew:
    """The string at `path` grew by `text` (never empty, never half an escape)."""

    path: Path
    text: str


@dataclass(frozen=True, slots=True)
class ScalarCompleted:
    """The string, number, boolean or null at `path` is complete."""

    path: Path
    value: Scalar


@dataclass(frozen=True, slots=True)
class ContainerClosed:
    """The array or object at `path` is complete; `value` is the parser's own object."""

    path: Path
    value: dict[str, Any] | list[Any]


Event: TypeAlias = KeyCompleted | ItemAppended | ValueStarted | StringGrew | ScalarCompleted | ContainerClosed

# Parser states.
_VALUE: Final = 0  # a value is expected (start, after ':', after ',' in an array)
_VALUE_OR_CLOSE: Final = 1  # just after '['
_KEY_OR_CLOSE: Final = 2  # just after '{'
_KEY: Final = 3  # after ',' in an object
_COLON: Final = 4
_AFTER: Final = 5  # after a member value: ',' or the closer
_DONE: Final = 6  # the top-level value is complete: whitespace only
_STRING: Final = 7
_NUMBER: Final = 8
_LITERAL: Final = 9

# String sub-states.
_S_PLAIN: Final = 0
_S_BACKSLASH: Final = 1
_S_HEX: Final = 2  # collecting the 4 digits of \uXXXX
_S_HIGH: Final = 3  # a high surrogate was decoded: is a \uXXXX low half next?
_S_HIGH_BACKSLASH: Final = 4

_WS_CHARS: Final = " \t\n\r"
_WS = re.compile(r"[ \t\n\r]*")
_STR_RUN = re.compile(r'[^"\\\x00-\x1f]+')
_NUM_RUN = re.compile(r"[0-9eE.+\-]*")
_VALUE_STARTS: Final = frozenset('"{[-0123456789tfn')
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_ESCAPES: Final = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LITERALS: Final[dict[str, tuple[str, Scalar]]] = {
    "t": ("true", True),
    "f": ("false", False),
    "n": ("null", None),
}


def _number_dfa() -> tuple[dict[tuple[int, str], int], frozenset[int]]:
    # -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, one state per position in it.
    start, minus, zero, integer, dot, frac, e, esign, exp = range(9)
    table: dict[tuple[int, str], int] = {(start, "-"): minus}
    for d in "0123456789":
        for state, nxt in ((integer, integer), (dot, frac), (frac, frac), (e, exp), (esign, exp), (exp, exp)):
            table[state, d] = nxt
        table[start, d] = table[minus, d] = zero if d == "0" else integer
    for state in (zero, integer):
        table[state, "."] = dot
    for state in (zero, integer, frac):
        table[state, "e"] = table[state, "E"] = e
    table[e, "+"] = table[e, "-"] = esign
    return table, frozenset((zero, integer, frac, exp))


_NUM_TABLE, _NUM_FINAL = _number_dfa()


class _Frame:
    """An open array or object."""

    __slots__ = ("container", "index", "is_object", "key", "path")

    def __init__(self, container: dict[str, Any] | list[Any], path: Path, is_object: bool) -> None:
        self.container = container
        self.path = path
        self.is_object = is_object
        self.key = ""  # the member whose value comes next (objects)
        self.index = -1  # the current item (arrays)


class PartialJSONParser:
    """Feed text chunks, get events and a stable snapshot; see the module docstring."""

    def __init__(self, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.max_depth = max_depth
        self._state = _VALUE
        self._stack: list[_Frame] = []
        self._root: Any = None
        self._has_root = False
        self._offset = 0  # characters consumed by earlier chunks
        self._error: PartialJSONError | None = None
        self._finished = False
        # The open string (a key or a value).
        self._is_key = False
        self._str_path: Path = ()
        self._parts: list[str] = []
        self._flushed = 0  # parts already reported in StringGrew events
        self._synced = True  # the snapshot holds the open string's current text
        self._esc = _S_PLAIN
        self._hex = ""
        self._high = 0
        # The open number or literal.
        self._num_parts: list[str] = []
        self._num_state = 0
        self._num_float = False
        self._num_start = 0
        self._lit = ""
        self._lit_pos = 0
        self._lit_value: Scalar = None
        self._scalar_path: Path = ()

    # -- public API ---------------------------------------------------------------------

    @property
    def value(self) -> Any:
        """The snapshot so far (None until the top-level value has started)."""
        if not self._synced:
            text = "".join(self._parts)
            self._parts = [text]
            self._flushed = 1
            self._synced = True
            self._put(text)
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
        if self._state == _STRING and self._esc == _S_PLAIN and _STR_RUN.fullmatch(chunk):
            # Fast path for the common chunk, plain text inside a string.
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
            self._scalar_path = path
            self._num_parts = []
            self._num_state = 0
            self._num_float = False
            self._num_start = base + i
            self._state = _NUMBER
            return i
        self._lit, self._lit_value = _LITERALS[c]
        events.append(ValueStarted(path, "null" if self._lit_value is None else "boolean"))
        self._scalar_path = path
        self._lit_pos = 0
        self._state = _LITERAL
        return i

    def _close_container(self, events: list[Event]) -> None:
        frame = self._stack.pop()
        events.append(ContainerClosed(frame.path, frame.container))
        self._after_value()

    # -- strings ------------------------------------------------------------------------

    def _begin_string(self, is_key: bool, path: Path) -> None:
        self._state = _STRING
        self._is_key = is_key
        self._str_path = path
        self._parts = []
        self._flushed = 0
        self._synced = True
        self._esc = _S_PLAIN

    def _flush(self, events: list[Event]) -> None:
        """Report the open value string's new text (once per chunk, not per run)."""
        if self._state == _STRING and not self._is_key and len(self._parts) > self._flushed:
            text = "".join(self._parts[self._flushed :])
            self._flushed = len(self._parts)
            if text:
                events.append(StringGrew(self._str_path, text))

    def _scan_string(self, s: str, i: int, n: int, events: list[Event]) -> int:
        parts = self._parts
        before = len(parts)
        while i < n:
            esc = self._esc
            if esc == _S_PLAIN:
                m = _STR_RUN.match(s, i)
                if m is not None:
                    parts.append(m.group())
                    i = m.end()
                    if i == n:
                        break
                c = s[i]
                if c == '"':
                    self._end_string(events)
                    return i + 1
                if c == "\\":
                    self._esc = _S_BACKSLASH
                    i += 1
                    continue
                raise PartialJSONError("Invalid control character in string", self._offset + i)
            c = s[i]
            if esc == _S_BACKSLASH:
                if c == "u":
                    self._esc = _S_HEX
                    self._hex = ""
                else:
                    decoded = _ESCAPES.get(c)
                    if decoded is None:
                        raise PartialJSONError("Invalid \\escape", self._offset + i)
                    parts.append(decoded)
                    self._esc = _S_PLAIN
                i += 1
            elif esc == _S_HEX:
                take = s[i : i + 4 - len(self._hex)]
                for k, h in enumerate(take):
                    if h not in _HEX_DIGITS:
                        raise PartialJSONError("Invalid \\uXXXX escape", self._offset + i + k)
                self._hex += take
                i += len(take)
                if len(self._hex) == 4:
                    self._decoded_code(int(self._hex, 16), parts)
            elif esc == _S_HIGH:
                if c == "\\":
                    self._esc = _S_HIGH_BACKSLASH
                    i += 1
                else:  # a lone high surrogate, kept as json.loads keeps it
                    parts.append(chr(self._high))
                    self._high = 0
                    self._esc = _S_PLAIN
            else:  # _S_HIGH_BACKSLASH
                if c == "u":
                    self._esc = _S_HEX
                    self._hex = ""
                    i += 1
                else:  # lone high surrogate, then an ordinary escape: re-read c
                    parts.append(chr(self._high))
                    self._high = 0
                    self._esc = _S_BACKSLASH
        if len(parts) > before and not self._is_key:
            self._synced = False
        return i

    def _decoded_code(self, code: int, parts: list[str]) -> None:
        high = self._high
        if high:
            self._high = 0
            if 0xDC00 <= code <= 0xDFFF:
                parts.append(chr(0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)))
                self._esc = _S_PLAIN
                return
            parts.append(chr(high))
        if 0xD800 <= code <= 0xDBFF:
            self._high = code
            self._esc = _S_HIGH
        else:
            parts.append(chr(code))
            self._esc = _S_PLAIN

    def _end_string(self, events: list[Event]) -> None:
        text = "".join(self._parts)
        if self._is_key:
            frame = self._stack[-1]
            frame.key = text
            events.append(KeyCompleted((*frame.path, text)))
            self._state = _COLON
            return
        self._flush(events)
        self._put(text)
        self._synced = True
        self._parts = []
        events.append(ScalarCompleted(self._str_path, text))
        self._after_value()

    # -- numbers and literals -------------------------------------------------------------

    def _scan_number(self, s: str, i: int, n: int, events: list[Event]) -> int:
        end = _NUM_RUN.match(s, i).end()  # type: ignore[union-attr]
        state = self._num_state
        table = _NUM_TABLE
        for k in range(i, end):
            nxt = table.get((state, s[k]))
            if nxt is None:
                raise PartialJSONError("Invalid number", self._offset + k)
            state = nxt
        self._num_state = state
        if end > i:
            self._num_parts.append(s[i:end])
        if end == n:
            return end
        if state not in _NUM_FINAL:
            raise PartialJSONError("Invalid number", self._offset + end)
        self._end_number(events)
        return end

    def _end_number(self, events: list[Event]) -> None:
        text = "".join(self._num_parts)
        self._num_parts = []
        value: int | float
        if "." in text or "e" in text or "E" in text:
            value = float(text)
        else:
            try:
                value = int(text)
            except ValueError as exc:  # beyond sys.get_int_max_str_digits(), as json.loads
                raise PartialJSONError(str(exc), self._num_start) from None
        self._put_scalar(value, events)

    def _scan_literal(self, s: str, i: int, n: int, events: list[Event]) -> int:
        want = self._lit[self._lit_pos :]
        got = s[i : i + len(want)]
        if not want.startswith(got):
            k = next(k for k, (a, b) in enumerate(zip(want, got, strict=False)) if a != b)
            raise PartialJSONError("Expecting value", self._offset + i + k)
        self._lit_pos += len(got)
        if self._lit_pos == len(self._lit):
            self._put_scalar(self._lit_value, events)
        return i + len(got)

    def _put_scalar(self, value: Scalar, events: list[Event]) -> None:
        self._state = _AFTER  # so _put appends instead of replacing a string slot
        self._put(value)
        events.append(ScalarCompleted(self._scalar_path, value))
        self._after_value()
