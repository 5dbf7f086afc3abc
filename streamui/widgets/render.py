"""Parser events -> htmx out-of-band fragments: only what changed, each aimed at a stable DOM id.

Fragments (plain HTML strings, sent over the WebSocket; htmx swaps them by id):
- a string grew: `<span id="{id}" hx-swap-oob="beforeend">{text}</span>`;
- a value entered the page: `<div id="{host}" hx-swap-oob="beforeend">{row, item or widget}</div>`,
  the host being the root element, a list's `<ul>` or a card's `<dl>`;
- a value was replaced (a complete link, a duplicate key, a schema row being filled):
  the new element itself with `hx-swap-oob="outerHTML"`.
Values that arrive within one chunk are rendered together: a whole object fed at once is
one fragment. All model text (values and keys) goes through Jinja2's autoescape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from streamui.pipeline.partial_json import (
    ContainerClosed,
    Event,
    JSONKind,
    PartialJSONError,
    PartialJSONParser,
    Path,
    Scalar,
    ScalarCompleted,
    StringGrew,
    ValueStarted,
)

from .registry import (
    BUILTIN_WIDGETS,
    SchemaNode,
    WidgetRegistry,
    WidgetSpec,
    child_schema,
    humanize,
    schema_properties,
    schema_title,
)

__all__ = ["DEFAULT_WIDGET_DEPTH", "JSONWidgetRenderer", "dom_id", "environment", "is_meter", "markdown_fragment",
           "safe_href", "source_card"]

# Rendering nests one template call per level; LLM structured output is shallow, and a
# document deeper than this gets the error badge instead of a RecursionError.
DEFAULT_WIDGET_DEPTH = 32

_ROOT_ID = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")
_UNSAFE = re.compile(r"[^A-Za-z0-9]")
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The widgets' own Jinja2 environment: works without Django settings."""
    return Environment(loader=PackageLoader("streamui", "jinja2"), autoescape=True)


def _segment(step: str | int) -> str:
    if isinstance(step, int):
        return str(step)
    if not step:
        return "_"
    # Every non-alphanumeric character, '_' and '-' included, becomes _hex_: unique and reversible.
    return _UNSAFE.sub(lambda m: f"_{ord(m.group()):x}_", step)


def dom_id(root_id: str, path: Path) -> str:
    """`su-7-json` + ("sources", 0, "url") -> `su-7-json--sources-0-url`; () -> `su-7-json-value`.

    Segments never contain '-' or are empty, so `--` never appears after the root and the
    renderer's own suffixes (`--items`, `--field`, `--item`, `--error`) cannot collide.
    """
    if not path:
        return f"{root_id}-value"
    return f"{root_id}--" + "-".join(_segment(step) for step in path)


def safe_href(url: str) -> str | None:
    """`url` if it is a plain http(s) or mailto URL, else None (no javascript:, no whitespace tricks)."""
    if not url or any(c.isspace() or ord(c) < 0x20 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _LINK_SCHEMES:
        return None
    if parts.scheme.lower() != "mailto" and not parts.netloc:
        return None
    return url


def _oob(host_id: str, inner: Markup) -> str:
    return str(Markup('<div id="{}" hx-swap-oob="beforeend">{}</div>').format(host_id, inner))


_METER_KEY = re.compile(r"confidence|probability|certainty|likelihood|score|prob\b", re.IGNORECASE)
_ONE_PARAGRAPH = re.compile(r"<p>((?:(?!</?p>).)*)</p>\n?", re.DOTALL)


def markdown_fragment(text: str) -> Markup:
    """A complete string field as markdown, through the answers' own (escaping) renderer; one paragraph stays inline."""
    from streamui.pipeline.markdown import FrozenBlock, MarkdownStream

    stream = MarkdownStream()
    html = "".join(u.html for u in stream.append(text) + stream.finish() if isinstance(u, FrozenBlock)) if text else ""
    single = _ONE_PARAGRAPH.fullmatch(html)
    return Markup(single.group(1) if single else html)


def source_card(value: Any) -> tuple[str, str, str] | None:
    """(href, title, host) when an object reads as a source: a safe `url` (or `link`/`href`) and maybe a title."""
    if not isinstance(value, dict):
        return None
    url = next((value[k] for k in ("url", "link", "href") if isinstance(value.get(k), str)), None)
    href = safe_href(url) if url else None
    if href is None or set(value) - {"url", "link", "href", "title", "name"}:
        return None
    title = next((value[k] for k in ("title", "name") if isinstance(value.get(k), str) and value[k]), "") or href
    return href, title, urlsplit(href).netloc or href


def is_meter(path: Path, value: Any) -> bool:
    """A number in [0, 1] whose key reads like a confidence: shown as a meter."""
    return (bool(path) and isinstance(path[-1], str) and bool(_METER_KEY.search(path[-1]))
            and isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1)


@dataclass(eq=False, slots=True)
class _Node:
    """A value that enters the page in this batch, with the children that came with it."""

    path: Path
    kind: JSONKind
    spec: WidgetSpec
    schema: SchemaNode | None
    text: list[str] = field(default_factory=list)
    value: Scalar = None
    complete: bool = False
    replace: bool = False
    children: list[_Node] = field(default_factory=list)
    source: tuple[str, str, str] | None = None


@dataclass(slots=True)
class _Container:
    kind: JSONKind
    schema: SchemaNode | None
    waiting_rows: set[str] = field(default_factory=set)
    """Schema properties whose hidden row is on the page, waiting for a value."""


class JSONWidgetRenderer:
    """Feeds a streamed JSON document through the parser and the registry into htmx fragments.

    `root_id` names an element already on the page; the document's widget is appended
    into it. Never raises on bad JSON: the widgets keep what was valid, an error badge
    says where it broke (with the raw text in a <details>), and later feeds are ignored.
    """

    def __init__(
        self,
        root_id: str,
        registry: WidgetRegistry | None = None,
        schema: SchemaNode | None = None,
        *,
        max_depth: int = DEFAULT_WIDGET_DEPTH,
        env: Environment | None = None,
    ) -> None:
        if not _ROOT_ID.fullmatch(root_id):
            raise ValueError(f"root_id must be a plain HTML id ([A-Za-z][A-Za-z0-9_-]*), got {root_id!r}")
        self.root_id = root_id
        self.registry = registry or WidgetRegistry()
        self.schema = schema
        self.parser = PartialJSONParser(max_depth=max_depth)
        self.error: PartialJSONError | None = None
        self._env = env or environment()
        self._raw: list[str] = []
        self._prose = False
        self._closed = False
        self._mounted: dict[Path, _Container | None] = {}  # on the page (or in this batch)
        self._open_strings: dict[Path, tuple[WidgetSpec, SchemaNode | None]] = {}
        self._batch: dict[Path, _Node] = {}
        self._ops: list[_Node | str] = []

    # -- public API -----------------------------------------------------------------------

    def feed(self, chunk: str) -> list[str]:
        if self._prose and not self._closed and chunk:
            # Not JSON at all: the model's prose keeps streaming into the open "raw" panel.
            self._raw.append(chunk)
            raw = Markup('<span id="{}--error-raw" hx-swap-oob="beforeend">{}</span>').format(self.root_id, chunk)
            return [str(raw)]
        if self.error is not None or self._closed or not chunk:
            return []
        self._raw.append(chunk)
        try:
            events = self.parser.feed(chunk)
        except PartialJSONError as exc:
            self.error = exc
            return [*self._apply(exc.events), self._error_fragment(exc)]
        return self._apply(events)

    def close(self) -> list[str]:
        """End of the stream: the last fragments (a trailing number, or the error badge)."""
        if self._closed:
            return []
        self._closed = True
        if self.error is not None:
            return []
        try:
            events = self.parser.finish()
        except PartialJSONError as exc:
            self.error = exc
            return [self._error_fragment(exc)]
        return self._apply(events)

    @property
    def raw(self) -> str:
        return "".join(self._raw)

    # -- events -> operations ---------------------------------------------------------------

    def _apply(self, events: Iterable[Event]) -> list[str]:
        self._batch = {}
        self._ops = []
        for event in events:
            if isinstance(event, StringGrew):
                node = self._batch.get(event.path)
                if node is not None:
                    node.text.append(event.text)
                else:
                    self._ops.append(
                        str(Markup('<span id="{}" hx-swap-oob="beforeend">{}</span>').format(
                            dom_id(self.root_id, event.path), event.text))
                    )
            elif isinstance(event, ValueStarted):
                if event.kind in ("string", "array", "object"):
                    self._enter(event.path, event.kind)
            elif isinstance(event, ScalarCompleted):
                self._complete(event.path, event.value)
            elif isinstance(event, ContainerClosed):
                self._closed_container(event)
        fragments = [op if isinstance(op, str) else self._render_op(op) for op in self._ops]
        self._batch = {}
        self._ops = []
        return fragments

    def _closed_container(self, event: ContainerClosed) -> None:
        """A finished {title, url} object in a list becomes a compact link card."""
        if not event.path or not isinstance(event.path[-1], int) or not isinstance(event.value, dict):
            return
        card = source_card(event.value)
        if card is None:
            return
        node = self._batch.get(event.path)
        if node is not None:
            node.source = card
            return
        self._ops.append(self._source_html(event.path, card, oob="outerHTML"))

    def _source_html(self, path: Path, card: tuple[str, str, str], oob: str | None = None) -> str:
        href, title, host = card
        return str(self._env.get_template("streamui/widgets/source.html").render(
            id=dom_id(self.root_id, path), href=href, title=title, host=host, oob=oob))

    def _schema_for(self, path: Path) -> SchemaNode | None:
        if not path:
            return self.schema
        parent = self._mounted.get(path[:-1])
        return child_schema(parent.schema, path[-1], self.schema) if parent is not None else None

    def _enter(self, path: Path, kind: JSONKind, value: Scalar = None) -> None:
        schema = self._schema_for(path)
        spec = self.registry.resolve(path, kind, schema, self.schema)
        node = _Node(path, kind, spec, schema, value=value, complete=kind not in ("string", "array", "object"))
        previous = self._batch.get(path)
        if previous is not None:  # a duplicate key within this batch: take its place
            self._forget_below(path)
            previous.kind, previous.spec, previous.schema = node.kind, node.spec, node.schema
            previous.text, previous.value, previous.complete = [], value, node.complete
            previous.children = []
            node = previous
        elif path in self._mounted:  # a duplicate key: replace the widget on the page
            self._forget_below(path)
            node.replace = True
            self._ops.append(node)
        elif path and path[:-1] in self._batch:
            self._batch[path[:-1]].children.append(node)
        else:
            self._ops.append(node)
        self._batch[path] = node
        self._mounted[path] = _Container(kind, schema) if kind in ("array", "object") else None
        if kind == "string":
            self._open_strings[path] = (spec, schema)

    def _forget_below(self, path: Path) -> None:
        depth = len(path)
        for table in (self._mounted, self._open_strings, self._batch):
            for other in [p for p in table if len(p) > depth and p[:depth] == path]:
                del table[other]

    def _complete(self, path: Path, value: Scalar) -> None:
        string = self._open_strings.pop(path, None)
        if string is None:
            kind: JSONKind = "null" if value is None else "boolean" if isinstance(value, bool) else "number"
            self._enter(path, kind, value)
            return
        node = self._batch.get(path)
        if node is not None:
            node.value, node.complete = value, True
            return
        spec, _ = string
        if spec.final_template is not None:
            self._ops.append(self._widget_html(path, "string", spec, None, value, True, [], oob="outerHTML"))

    # -- rendering ---------------------------------------------------------------------------

    def _render_op(self, node: _Node) -> str:
        widget = self._node_html(node, oob="outerHTML" if node.replace else None)
        if node.replace:
            return str(widget)
        path = node.path
        if not path:
            return _oob(self.root_id, Markup(widget))
        parent = self._mounted.get(path[:-1])
        host = dom_id(self.root_id, path[:-1]) + "--items"
        if parent is not None and parent.kind == "object":
            key = str(path[-1])
            if key in parent.waiting_rows:
                parent.waiting_rows.discard(key)
                return str(self._row(path, Markup(widget), oob="outerHTML"))
            return _oob(host, self._row(path, Markup(widget)))
        return _oob(host, self._item(path, Markup(widget)))

    def _node_html(self, node: _Node, oob: str | None = None) -> str:
        if node.source is not None:
            return self._source_html(node.path, node.source, oob)
        value: Any = "".join(node.text) if node.kind == "string" and not node.complete else node.value
        return self._widget_html(node.path, node.kind, node.spec, node.schema, value, node.complete, node.children, oob)

    def _widget_html(
        self,
        path: Path,
        kind: JSONKind,
        spec: WidgetSpec,
        schema: SchemaNode | None,
        value: Any,
        complete: bool,
        children: list[_Node],
        oob: str | None,
    ) -> str:
        id_ = dom_id(self.root_id, path)
        template = spec.template
        if kind == "string" and complete and spec.final_template is not None:
            template = spec.final_template
        elif kind == "number" and spec is BUILTIN_WIDGETS["badge"] and is_meter(path, value):
            template = "streamui/widgets/meter.html"
        context: dict[str, Any] = {
            "id": id_,
            "children_id": f"{id_}--items",
            "oob": oob,
            "kind": kind,
            "value": value,
            "complete": complete,
            "title": self._root_title(schema) if not path else None,
            "label": self._label(path) if path else "",
            "options": spec.options,
            "href": safe_href(value) if kind == "string" and complete else None,
            "markdown": markdown_fragment(value) if kind == "string" and complete and isinstance(value, str) else "",
        }
        if kind == "object":
            context["children"] = self._card_rows(path, schema, children)
        elif kind == "array":
            context["children"] = Markup("").join(self._item(c.path, Markup(self._node_html(c))) for c in children)
        return str(self._env.get_template(template).render(context))

    def _card_rows(self, path: Path, schema: SchemaNode | None, children: list[_Node]) -> Markup:
        arrived = {str(c.path[-1]): c for c in children}
        rows: list[Markup] = []
        container = self._mounted.get(path)
        for key in schema_properties(schema, self.schema):
            child = arrived.pop(key, None)
            if child is not None:
                rows.append(self._row(child.path, Markup(self._node_html(child))))
            else:
                rows.append(self._row((*path, key), Markup(""), hidden=True))
                if container is not None:
                    container.waiting_rows.add(key)
        rows.extend(self._row(c.path, Markup(self._node_html(c))) for c in arrived.values())
        return Markup("").join(rows)

    def _root_title(self, schema: SchemaNode | None) -> str | None:
        """The document's title, unless a field already carries the same words ("Answer" twice)."""
        title = schema_title(schema, self.schema)
        if title is None:
            return None
        labels = {(self.registry.label_for((key,)) or schema_title(child_schema(schema, key, self.schema), self.schema)
                   or humanize(key)).casefold() for key in schema_properties(schema, self.schema)}
        return None if title.casefold() in labels else title

    def _label(self, path: Path) -> str:
        parent = self._mounted.get(path[:-1])
        schema = child_schema(parent.schema, path[-1], self.schema) if parent is not None else None
        return self.registry.label_for(path) or schema_title(schema, self.schema) or humanize(path[-1])

    def _row(self, path: Path, widget: Markup, *, hidden: bool = False, oob: str | None = None) -> Markup:
        id_ = dom_id(self.root_id, path)
        return Markup(self._env.get_template("streamui/widgets/field.html").render(
            row_id=f"{id_}--field", label=self._label(path), widget=widget, hidden=hidden, oob=oob))

    def _item(self, path: Path, widget: Markup) -> Markup:
        return Markup(self._env.get_template("streamui/widgets/item.html").render(
            item_id=dom_id(self.root_id, path) + "--item", widget=widget))

    def _error_fragment(self, exc: PartialJSONError) -> str:
        prose = self._prose = self.raw.lstrip()[:1] not in ("{", "[", "")
        if prose:
            message = "This model did not send JSON: it answered in prose (shown below)."
        elif "end of input" in exc.msg:
            message = f"The JSON ended early at character {exc.offset}: {exc.msg}"
        else:
            message = f"Invalid JSON at character {exc.offset}: {exc.msg}"
        html = self._env.get_template("streamui/widgets/error.html").render(
            id=f"{self.root_id}--error", message=message, raw=self.raw, prose=prose,
            detail=f"{exc.msg} at character {exc.offset}")
        return _oob(self.root_id, Markup(html))

