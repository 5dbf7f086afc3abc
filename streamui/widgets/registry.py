"""Which widget shows which part of a JSON document: path patterns, defaults by type, JSON Schema.

Patterns name paths of the document: `answer`, `sources[*]`, `sources[*].url`,
`sources[0]`, `meta.*` (any key), `["odd key"].x` (a quoted key), `$` (the whole
document). When several patterns match a path, the one with the most literal steps
wins, then the one registered last. Without a match, a string with a JSON Schema
`format` gets that format's widget, and anything else its type's default.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from streamui.pipeline.partial_json import JSONKind, Path

__all__ = [
    "BUILTIN_WIDGETS",
    "PathPattern",
    "SchemaNode",
    "WidgetRegistry",
    "WidgetSpec",
    "child_schema",
    "humanize",
    "schema_format",
    "schema_properties",
    "schema_title",
]

SchemaNode: TypeAlias = Mapping[str, Any]

_T = "streamui/widgets/"


@dataclass(frozen=True, slots=True)
class WidgetSpec:
    """How one value is shown.

    `template` renders the value when it enters the page: a container empty or with the
    children that arrived in the same chunk, a string with its text so far (its root
    element then receives the streamed text), a number/boolean/null complete.
    `final_template`, for strings, replaces the streamed text once the string is complete.
    """

    template: str
    final_template: str | None = None
    kinds: frozenset[str] | None = None
    """The JSON types it can show; None: any (custom templates)."""
    label: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


_STRING: Final = frozenset({"string"})
_SCALAR: Final = frozenset({"string", "number", "boolean", "null"})
BUILTIN_WIDGETS: Final[Mapping[str, WidgetSpec]] = {
    "text": WidgetSpec(_T + "text.html", final_template=_T + "markdown.html", kinds=_SCALAR),
    "plain": WidgetSpec(_T + "text.html", kinds=_SCALAR),
    "badge": WidgetSpec(_T + "badge.html", kinds=_SCALAR),
    "tick": WidgetSpec(_T + "tick.html", kinds=frozenset({"boolean"})),
    "null": WidgetSpec(_T + "null.html", kinds=frozenset({"null"})),
    "list": WidgetSpec(_T + "list.html", kinds=frozenset({"array"})),
    "card": WidgetSpec(_T + "card.html", kinds=frozenset({"object"})),
    "link": WidgetSpec(_T + "text.html", final_template=_T + "link.html", kinds=_STRING),
    "time": WidgetSpec(_T + "text.html", final_template=_T + "time.html", kinds=_STRING),
}
DEFAULT_BY_KIND: Final[Mapping[str, str]] = {
    "string": "text",
    "number": "badge",
    "boolean": "tick",
    "null": "null",
    "array": "list",
    "object": "card",
}
WIDGET_BY_FORMAT: Final[Mapping[str, str]] = {
    "uri": "link",
    "url": "link",
    "iri": "link",
    "date": "time",
    "date-time": "time",
}

# -- path patterns ----------------------------------------------------------------------------


class _Any:
    __slots__ = ("what",)

    def __init__(self, what: type) -> None:
        self.what = what

    def __repr__(self) -> str:
        return "[*]" if self.what is int else ".*"


ANY_KEY: Final = _Any(str)
ANY_INDEX: Final = _Any(int)
_TOKEN = re.compile(
    r"""\[\*\]|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?(\*)|\.?([A-Za-z_][A-Za-z0-9_\-]*)""",
)


@dataclass(frozen=True, slots=True)
class PathPattern:
    steps: tuple[str | int | _Any, ...]

    @classmethod
    def parse(cls, pattern: str) -> PathPattern:
        text = pattern.strip()
        if text in ("", "$"):
            return cls(())
        text = text.removeprefix("$")
        steps: list[str | int | _Any] = []
        pos = 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None:
                raise ValueError(f"bad path pattern {pattern!r} at {pos}")
            index, quoted, star, name = match.groups()
            if match.group() == "[*]":
                steps.append(ANY_INDEX)
            elif index is not None:
                steps.append(int(index))
            elif quoted is not None:
                steps.append(json.loads(quoted))
            elif star is not None:
                steps.append(ANY_KEY)
            else:
                steps.append(name)
            pos = match.end()
        return cls(tuple(steps))

    @property
    def specificity(self) -> int:
        return sum(not isinstance(step, _Any) for step in self.steps)

    def matches(self, path: Path) -> bool:
        if len(path) != len(self.steps):
            return False
        for step, part in zip(self.steps, path, strict=False):
            if isinstance(step, _Any):
                if type(part) is not step.what:
                    return False
            elif step != part or type(step) is not type(part):
                return False
        return True


# -- JSON Schema ---------------------------------------------------------------------------------


def _resolve(node: SchemaNode | None, root: SchemaNode | None) -> SchemaNode | None:
    """Follow local $refs and pick the non-null branch of anyOf/oneOf (Optional fields)."""
    for _ in range(32):  # a cycle of $refs ends here instead of looping
        if not isinstance(node, Mapping):
            return None
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#") and root is not None:
            target: Any = root
            for part in ref[1:].split("/")[1:] if ref != "#" else []:
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, Mapping) else None
            node = {**{k: v for k, v in node.items() if k != "$ref"}, **(target or {})}
            continue
        for key in ("anyOf", "oneOf"):
            branches = node.get(key)
            if isinstance(branches, list):
                real = [b for b in branches if not (isinstance(b, Mapping) and b.get("type") == "null")]
                if len(real) == 1:
                    node = {**{k: v for k, v in node.items() if k != key}, **real[0]}
                    break
        else:
            return node
    return node


def child_schema(node: SchemaNode | None, step: str | int, root: SchemaNode | None) -> SchemaNode | None:
    node = _resolve(node, root)
    if node is None:
        return None
    if isinstance(step, int):
        prefix = node.get("prefixItems")
        if isinstance(prefix, list) and step < len(prefix):
            return _resolve(prefix[step], root)
        return _resolve(node.get("items"), root)
    props = node.get("properties")
    if isinstance(props, Mapping) and step in props:
        return _resolve(props[step], root)
    extra = node.get("additionalProperties")
    return _resolve(extra, root) if isinstance(extra, Mapping) else None


def schema_properties(node: SchemaNode | None, root: SchemaNode | None) -> list[str]:
    """Property names in layout order: `x-order` (or `propertyOrder`) if given, else as declared."""
    node = _resolve(node, root)
    if node is None or not isinstance(node.get("properties"), Mapping):
        return []
    names = list(node["properties"])
    order = node.get("x-order", node.get("propertyOrder"))
    if isinstance(order, list):
        ranked = [n for n in order if n in names]
        return ranked + [n for n in names if n not in ranked]
    return names


def schema_title(node: SchemaNode | None, root: SchemaNode | None = None) -> str | None:
    node = _resolve(node, root)
    title = node.get("title") if node is not None else None
    return title if isinstance(title, str) and title else None


def schema_format(node: SchemaNode | None, root: SchemaNode | None = None) -> str | None:
    node = _resolve(node, root)
    fmt = node.get("format") if node is not None else None
    return fmt if isinstance(fmt, str) else None


def humanize(key: str | int) -> str:
    """`follow_up_questions` and `followUpQuestions` -> `Follow up questions`."""
    if isinstance(key, int):
        return str(key)
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ").replace("-", " ").split()
    text = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)
    return text[:1].upper() + text[1:] if text else key


# -- the registry -------------------------------------------------------------------------------


class WidgetRegistry:
    """Path patterns -> widgets, with defaults by JSON type and by JSON Schema format."""

    def __init__(self) -> None:
        self._entries: list[tuple[PathPattern, int, WidgetSpec]] = []
        self.defaults: dict[str, str] = dict(DEFAULT_BY_KIND)
        self.formats: dict[str, str] = dict(WIDGET_BY_FORMAT)

    def register(
        self,
        pattern: str,
        widget: str | WidgetSpec,
        *,
        label: str | None = None,
        final_template: str | None = None,
        **options: Any,
    ) -> WidgetRegistry:
        """Show the values at `pattern` with `widget`: a built-in name (text, badge, tick, null,
        list, card, link, time), a template name, or a WidgetSpec. Returns self, to chain."""
        if isinstance(widget, WidgetSpec):
            spec = widget
        elif widget in BUILTIN_WIDGETS:
            spec = BUILTIN_WIDGETS[widget]
        elif "/" in widget:
            spec = WidgetSpec(widget)
        else:
            raise ValueError(f"unknown widget {widget!r}: use one of {sorted(BUILTIN_WIDGETS)} or a template")
        spec = WidgetSpec(
            spec.template,
            final_template or spec.final_template,
            spec.kinds,
            label if label is not None else spec.label,
            {**spec.options, **options},
        )
        self._entries.append((PathPattern.parse(pattern), len(self._entries), spec))
        return self

    def label_for(self, path: Path) -> str | None:
        """The label registered for `path` (most specific pattern, then latest), if any."""
        best: tuple[int, int, str] | None = None
        for pattern, order, spec in self._entries:
            if spec.label is not None and pattern.matches(path) and (
                    best is None or (pattern.specificity, order) > best[:2]):
                best = (pattern.specificity, order, spec.label)
        return best[2] if best is not None else None

    def resolve(
        self, path: Path, kind: JSONKind, schema: SchemaNode | None = None, root_schema: SchemaNode | None = None
    ) -> WidgetSpec:
        best: tuple[int, int, WidgetSpec] | None = None
        for pattern, order, spec in self._entries:
            if (spec.kinds is None or kind in spec.kinds) and pattern.matches(path):
                rank = (pattern.specificity, order, spec)
                if best is None or rank[:2] > best[:2]:
                    best = rank
        if best is not None:
            return best[2]
        fmt = schema_format(schema, root_schema) if kind == "string" else None
        name = self.formats.get(fmt, "") if fmt else ""
        return BUILTIN_WIDGETS[name or self.defaults[kind]]
