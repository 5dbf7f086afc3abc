"""Checks shared by the partial-JSON tests: strict equality, the stability rules, event replay."""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterable, Iterator
from typing import Any

from streamui.pipeline.partial_json import (
    ContainerClosed,
    Event,
    ItemAppended,
    KeyCompleted,
    PartialJSONParser,
    ScalarCompleted,
    StringGrew,
    ValueStarted,
)


def same(a: Any, b: Any) -> bool:
    """Equal with types (1 is not 1.0 nor True), key order, -0.0 and NaN; no recursion."""
    todo = [(a, b)]
    while todo:
        x, y = todo.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, float):
            if not ((math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1, x) == math.copysign(1, y))):
                return False
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            todo.extend(zip(x, y, strict=False))
        elif isinstance(x, dict):
            if list(x) != list(y):
                return False
            todo.extend((x[k], y[k]) for k in x)
        elif x != y:
            return False
    return True


def stability_violation(before: Any, after: Any) -> str | None:
    """Why `after` is not a legal successor of the snapshot `before`, or None.

    The rules of the module docstring: same type; strings only grow at the end;
    containers only gain members at the end, every member but the last is final, and
    the last one may only grow by these same rules; scalars never change.
    """
    todo: list[tuple[Any, Any, str]] = [(before, after, "$")]
    while todo:
        x, y, where = todo.pop()
        if type(x) is not type(y):
            return f"{where}: type changed from {type(x).__name__} to {type(y).__name__}"
        if isinstance(x, str):
            if not y.startswith(x):
                return f"{where}: string {x!r} became {y!r}"
        elif isinstance(x, list):
            if len(y) < len(x):
                return f"{where}: array shrank"
            for k in range(len(x) - 1):
                if not same(x[k], y[k]):
                    return f"{where}[{k}]: a non-last item changed"
            if x:
                todo.append((x[-1], y[len(x) - 1], f"{where}[{len(x) - 1}]"))
        elif isinstance(x, dict):
            keys = list(x)
            if list(y)[: len(keys)] != keys:
                return f"{where}: keys {keys} became {list(y)}"
            for k in keys[:-1]:
                if not same(x[k], y[k]):
                    return f"{where}.{k}: a non-last member changed"
            if keys:
                todo.append((x[keys[-1]], y[keys[-1]], f"{where}.{keys[-1]}"))
        elif not same(x, y):
            return f"{where}: scalar {x!r} became {y!r}"
    return None


class Replay:
    """Rebuilds the snapshot from events alone, checking that they arrive in a legal order."""

    def __init__(self) -> None:
        self.root: Any = None
        self.started = False
        self.open_kinds: dict[tuple[Any, ...], str] = {}
        self.pending: dict[tuple[Any, ...], str] = {}  # scalar kinds waiting for completion
        self.strings: dict[tuple[Any, ...], list[str]] = {}

    def _parent(self, path: tuple[Any, ...]) -> Any:
        node = self.root
        for step in path[:-1]:
            node = node[step]
        return node

    def _set(self, path: tuple[Any, ...], value: Any) -> None:
        if not path:
            self.root = value
            self.started = True
            return
        parent = self._parent(path)
        if isinstance(parent, list):
            assert path[-1] in (len(parent), len(parent) - 1), f"item {path} out of order"
            if path[-1] == len(parent):
                parent.append(value)
            else:
                parent[-1] = value
        else:
            parent[path[-1]] = value

    def apply(self, event: Event) -> None:
        path = event.path
        if isinstance(event, KeyCompleted):
            assert self.open_kinds.get(path[:-1]) == "object" and isinstance(path[-1], str)
        elif isinstance(event, ItemAppended):
            assert self.open_kinds.get(path[:-1]) == "array" and isinstance(path[-1], int)
            assert path[-1] == len(self._parent(path)), "ItemAppended index is not the next index"
        elif isinstance(event, ValueStarted):
            if event.kind in ("object", "array"):
                self.open_kinds[path] = event.kind
                self._set(path, {} if event.kind == "object" else [])
            elif event.kind == "string":
                self.strings[path] = []
                self._set(path, "")
            else:
                self.pending[path] = event.kind
        elif isinstance(event, StringGrew):
            assert event.text, "empty StringGrew"
            self.strings[path].append(event.text)
            self._set(path, "".join(self.strings[path]))
        elif isinstance(event, ScalarCompleted):
            if path in self.strings:
                assert "".join(self.strings.pop(path)) == event.value, "StringGrew pieces != final string"
            else:
                kind = self.pending.pop(path)
                expected = {"number": (int, float), "boolean": (bool,), "null": (type(None),)}[kind]
                assert type(event.value) in expected, f"{kind} completed as {event.value!r}"
                self._set(path, event.value)
        elif isinstance(event, ContainerClosed):
            self.open_kinds.pop(path)
            assert same(event.value, self._get(path))
        else:  # pragma: no cover
            raise AssertionError(f"unknown event {event!r}")

    def _get(self, path: tuple[Any, ...]) -> Any:
        node = self.root
        for step in path:
            node = node[step]
        return node


def chunked(text: str, size: int) -> Iterator[str]:
    for k in range(0, len(text), size):
        yield text[k : k + size]


def cut(text: str, points: Iterable[int]) -> list[str]:
    bounds = sorted({0, len(text), *(p for p in points if 0 <= p <= len(text))})
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def check_stream(chunks: Iterable[str]) -> Any:
    """Feed chunks, checking every rule after every chunk; return the closed value."""
    parser = PartialJSONParser()
    replay = Replay()
    snapshots: list[Any] = []
    previous: Any = None
    for chunk in chunks:
        for event in parser.feed(chunk):
            replay.apply(event)
        if parser.has_value:
            snapshot = copy.deepcopy(parser.value)
            assert same(replay.root, snapshot), f"events rebuild {replay.root!r}, snapshot is {snapshot!r}"
            if previous is not None:
                problem = stability_violation(previous[0], snapshot)
                assert problem is None, problem
            previous = (snapshot,)
            snapshots.append(snapshot)
    for event in parser.finish():
        replay.apply(event)
    final = parser.close()
    assert same(replay.root, final)
    assert not replay.open_kinds and not replay.pending and not replay.strings
    for snapshot in snapshots:
        problem = stability_violation(snapshot, final)
        assert problem is None, problem
    return final
