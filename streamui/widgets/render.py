"""Parser events -> htmx out-of-band fragments: only what changed, each aimed at a stable DOM id.

Fragments (plain HTML strings, sent over the WebSocket; htmx swaps them by id):
- a string grew: `<span id="{id}" hx-swap-oob="beforeend">{text}</span>`;
- a value entered the page: `<div id="{host}" hx-swap-oob="beforeend">{row, item or widget}</div>`,
  the host being the root element, a list's `<ul>` or a card's `<dl>`;
- a value was replaced (a complete link, a duplicate key, a schema row being filled):
  the new element itself with `hx-swap-oob="outerHTML"`.
Values that arrive within one chunk are rendered together: a whole object fed at once is
one fragment. All model text (values and keys) goes through Jinja2's autoescape.

This module turns events into nodes and tracks what is on the page; how a node looks is
`render_templates.py`, and the pure helpers (ids, links, cards, meters) are `render_parts.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from jinja2 import Environment
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

from .registry import SchemaNode, WidgetRegistry, WidgetSpec, child_schema
from .render_parts import dom_id, environment, is_meter, markdown_fragment, oob_append, safe_href, source_card
from .render_templates import WidgetTemplates, _Container, _Node

__all__ = ["DEFAULT_WIDGET_DEPTH", "JSONWidgetRenderer", "dom_id", "environment", "is_meter", "markdown_fragment",
           "safe_href", "source_card"]

# Rendering nests one template call per level; LLM structured output is shallow, and a
# document deeper than this gets the error badge instead of a RecursionError.
DEFAULT_WIDGET_DEPTH = 32

_ROOT_ID = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")


class JSONWidgetRenderer(WidgetTemplates):
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
        return oob_append(self.root_id, Markup(html))

