"""The lexical half of `PartialJSONParser`: scanning strings, numbers and literals.

`ScalarScanner` reads the text of the open string, number, `true`, `false` or `null`
across chunks (resuming inside an escape, a `\\uXXXX`, a surrogate pair or a number),
checks it against RFC 8259 and decodes it as json.loads does. It leaves containers,
keys' places and paths to the parser (partial_json.py), which it reaches only through
`_put`, `_after_value` and `_complete_key`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from .partial_json_events import Event, PartialJSONError, Path, Scalar, ScalarCompleted, StringGrew

# Parser states. Both halves switch on them; they live here so that partial_json.py
# imports this module and nothing imports back.
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

_STR_RUN = re.compile(r'[^"\\\x00-\x1f]+')
# For the parser's per-chunk fast path. Bound here because CPython compiles a method
# call on an imported name (_STR_RUN.fullmatch) to a slower attribute load.
_all_plain = _STR_RUN.fullmatch
_NUM_RUN = re.compile(r"[0-9eE.+\-]*")
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


class ScalarScanner:
    """The open scalar's state and scanners; `PartialJSONParser` supplies the structure."""

    _state: int
    _offset: int  # characters consumed by earlier chunks

    if TYPE_CHECKING:  # defined by PartialJSONParser

        def _put(self, value: Any) -> None: ...

        def _after_value(self) -> None: ...

        def _complete_key(self, key: str, events: list[Event]) -> None: ...

    def __init__(self) -> None:
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

    # -- strings ------------------------------------------------------------------------

    def _begin_string(self, is_key: bool, path: Path) -> None:
        self._state = _STRING
        self._is_key = is_key
        self._str_path = path
        self._parts = []
        self._flushed = 0
        self._synced = True
        self._esc = _S_PLAIN

    def _sync_string(self) -> None:
        """Put the open value string's text so far into the snapshot."""
        text = "".join(self._parts)
        self._parts = [text]
        self._flushed = 1
        self._synced = True
        self._put(text)

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
            self._complete_key(text, events)
            return
        self._flush(events)
        self._put(text)
        self._synced = True
        self._parts = []
        events.append(ScalarCompleted(self._str_path, text))
        self._after_value()

    # -- numbers and literals -------------------------------------------------------------

    def _begin_number(self, path: Path, start: int) -> None:
        """A number begins at character `start` (its first character is not consumed yet)."""
        self._scalar_path = path
        self._num_parts = []
        self._num_state = 0
        self._num_float = False
        self._num_start = start
        self._state = _NUMBER

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

    def _begin_literal(self, first: str, path: Path) -> None:
        """`true`, `false` or `null` begins with `first` (not consumed yet)."""
        self._lit, self._lit_value = _LITERALS[first]
        self._scalar_path = path
        self._lit_pos = 0
        self._state = _LITERAL

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


__all__ = ["ScalarScanner"]
