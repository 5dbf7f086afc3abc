"""OpenAI tool calls as they stream: a card per call, its arguments rendered progressively.

Chat-completions chunks carry `delta.tool_calls`: items with an `index`, on the first one
an `id` and `function.name`, then `function.arguments` pieces that together are one JSON
document. Each call gets a card (name header + arguments) whose arguments go through the
same parser and widget registry as any streamed JSON, with the tool's parameter schema
(if given) for labels and layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from .registry import SchemaNode, WidgetRegistry
from .render import JSONWidgetRenderer, environment

__all__ = ["ToolCallsRenderer"]


@dataclass(slots=True)
class _Call:
    card_id: str
    name: str
    arguments: JSONWidgetRenderer | None = None
    state: str = "running"


class ToolCallsRenderer:
    """Renders streamed tool calls into the element `root_id`, one card per call index."""

    def __init__(
        self,
        root_id: str,
        registry: WidgetRegistry | None = None,
        schemas: Mapping[str, SchemaNode] | None = None,
        *,
        env: Environment | None = None,
    ) -> None:
        JSONWidgetRenderer(root_id)  # validates the id the same way
        self.root_id = root_id
        self.registry = registry or WidgetRegistry()
        self.schemas = dict(schemas or {})
        self._env = env or environment()
        self.calls: dict[int, _Call] = {}

    def feed(self, index: int, call_id: str | None, name: str | None, arguments: str) -> list[str]:
        """One tool-call delta: any of a new call's id and name, and a piece of its arguments."""
        fragments: list[str] = []
        call = self.calls.get(index)
        if call is None:
            call = self.calls[index] = _Call(f"{self.root_id}--call{int(index)}", name or "")
            html = self._env.get_template("streamui/widgets/toolcall.html").render(
                id=call.card_id, name_id=f"{call.card_id}--name", args_id=f"{call.card_id}--args",
                name=call.name, call_id=call_id)
            fragments.append(str(Markup('<div id="{}" hx-swap-oob="beforeend">{}</div>').format(
                self.root_id, Markup(html))))
        elif name:  # some servers stream the name in pieces too
            call.name += name
            fragments.append(str(Markup('<span id="{}" hx-swap-oob="beforeend">{}</span>').format(
                f"{call.card_id}--name", name)))
        if arguments:
            if call.arguments is None:
                call.arguments = JSONWidgetRenderer(
                    f"{call.card_id}--args", self.registry, self.schemas.get(call.name), env=self._env)
            fragments.extend(call.arguments.feed(arguments))
        return fragments

    def close(self, *, failed: bool = False) -> list[str]:
        """End of the stream: each call's last fragments (an error badge where its arguments broke)
        and its state: done, or failed (broken arguments, or `failed` for a stream that ended in error)."""
        fragments: list[str] = []
        for index in sorted(self.calls):
            call = self.calls[index]
            broken = False
            if call.arguments is not None:
                fragments.extend(call.arguments.close())
                broken = call.arguments.error is not None
            if call.state == "running":
                fragments.append(self._state(call, "failed" if failed or broken else "done"))
        return fragments

    def result(self, index: int, content: str, *, ok: bool = True) -> list[str]:
        """The tool's result, when the upstream sends one: shown in the call's card (JSON as widgets)."""
        call = self.calls.get(index)
        if call is None:
            return []
        result_id = f"{call.card_id}--result"
        renderer = JSONWidgetRenderer(f"{result_id}--body", self.registry, env=self._env)
        parsed = renderer.feed(content) + renderer.close()
        if content.lstrip()[:1] in ("{", "[") and renderer.error is None:
            prefix = f'<div id="{result_id}--body" hx-swap-oob="beforeend">'
            body = Markup(f'<div id="{result_id}--body">') + Markup("".join(
                f[len(prefix):-len("</div>")] for f in parsed if f.startswith(prefix))) + Markup("</div>")
        else:
            body = Markup('<pre class="su-toolcall-text">{}</pre>').format(content)
        html = self._env.get_template("streamui/widgets/toolresult.html").render(id=result_id, body=body)
        return [str(html), self._state(call, "done" if ok else "failed")]

    def _state(self, call: _Call, state: str) -> str:
        call.state = state
        return str(self._env.get_template("streamui/widgets/toolstate.html").render(
            id=f"{call.card_id}--state", state=state))

    def arguments(self, index: int) -> Any:
        """The arguments parsed so far for call `index` (None before any arrived)."""
        call = self.calls.get(index)
        return call.arguments.parser.value if call is not None and call.arguments is not None else None
