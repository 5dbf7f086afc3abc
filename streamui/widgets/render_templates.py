"""The template half of `JSONWidgetRenderer`: a batch's nodes -> HTML through the widget templates.

`render.py` decides what changed (events -> nodes, what is mounted); this module decides how
it looks: which template a value gets, its label and title, the card rows (with hidden rows
for schema properties that have not arrived) and the list items around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from streamui.pipeline.partial_json import JSONKind, Path, Scalar

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
from .render_parts import dom_id, is_meter, markdown_fragment, oob_append, safe_href

__all__ = ["WidgetTemplates"]


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


class WidgetTemplates:
    """Renders `_Node`s into fragments; `JSONWidgetRenderer` supplies the state below."""

    root_id: str
    registry: WidgetRegistry
    schema: SchemaNode | None
    _env: Environment
    _mounted: dict[Path, _Container | None]

    def _source_html(self, path: Path, card: tuple[str, str, str], oob: str | None = None) -> str:
        href, title, host = card
        return str(self._env.get_template("streamui/widgets/source.html").render(
            id=dom_id(self.root_id, path), href=href, title=title, host=host, oob=oob))

    def _render_op(self, node: _Node) -> str:
        widget = self._node_html(node, oob="outerHTML" if node.replace else None)
        if node.replace:
            return str(widget)
        path = node.path
        if not path:
            return oob_append(self.root_id, Markup(widget))
        parent = self._mounted.get(path[:-1])
        host = dom_id(self.root_id, path[:-1]) + "--items"
        if parent is not None and parent.kind == "object":
            key = str(path[-1])
            if key in parent.waiting_rows:
                parent.waiting_rows.discard(key)
                return str(self._row(path, Markup(widget), oob="outerHTML"))
            return oob_append(host, self._row(path, Markup(widget)))
        return oob_append(host, self._item(path, Markup(widget)))

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
