"""What `PartialJSONParser` reports: its events, its error, and the path and kind types.

Events (frozen dataclasses; `path` is a tuple of keys and indices, () for the top level):
- `KeyCompleted(path)`: an object key is complete (path[-1] is the key);
- `ItemAppended(path)`: an array item begins (path[-1] is its index);
- `ValueStarted(path, kind)`: a value begins; kind is object, array, string, number,
  boolean or null;
- `StringGrew(path, text)`: the string at path grew by text (one event per chunk);
- `ScalarCompleted(path, value)`: a string, number, boolean or null is complete;
- `ContainerClosed(path, value)`: an array or object is complete.
For every string, its StringGrew texts concatenate to its ScalarCompleted value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

Path: TypeAlias = tuple[str | int, ...]
JSONKind: TypeAlias = Literal["object", "array", "string", "number", "boolean", "null"]
Scalar: TypeAlias = str | int | float | bool | None


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

__all__ = [
    "ContainerClosed",
    "Event",
    "ItemAppended",
    "JSONKind",
    "KeyCompleted",
    "PartialJSONError",
    "Path",
    "Scalar",
    "ScalarCompleted",
    "StringGrew",
    "ValueStarted",
]
