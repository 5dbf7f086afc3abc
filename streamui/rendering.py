"""Whole answers rendered once, for turns shown again after a reload."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from .pipeline.markdown import FrozenBlock, MarkdownStream
from .widgets.registry import WidgetRegistry
from .widgets.render import JSONWidgetRenderer, environment


def markdown_html(text: str) -> str:
    stream = MarkdownStream()
    updates = stream.append(text) + stream.finish() if text else []
    return "".join(u.html for u in updates if isinstance(u, FrozenBlock))


def json_html(root_id: str, text: str, schema: Mapping[str, Any] | None = None,
              registry: WidgetRegistry | None = None) -> str:
    """The widgets' final state: fed whole, a document renders as one fragment into the root."""
    renderer = JSONWidgetRenderer(root_id, registry, schema=schema)
    frames = renderer.feed(text) + renderer.close()
    prefix = f'<div id="{root_id}" hx-swap-oob="beforeend">'
    inner = [f[len(prefix):-len("</div>")] for f in frames if f.startswith(prefix) and f.endswith("</div>")]
    if renderer.error is not None or len(inner) != len(frames):
        return str(Markup('<pre class="streamui-raw">{}</pre>').format(text))
    return "".join(inner)


def tool_calls_html(root_id: str, calls: Sequence[Mapping[str, Any]], *, failed: bool = False) -> str:
    """Stored tool calls (`{"index", "name", "arguments"}`) as the finished cards, for a reload."""
    env = environment()
    cards = []
    for call in calls:
        card_id = f"{root_id}--call{int(call.get('index', 0))}"
        arguments = str(call.get("arguments") or "")
        args = Markup(json_html(f"{card_id}--args", arguments)) if arguments else Markup("")
        cards.append(env.get_template("streamui/widgets/toolcall.html").render(
            id=card_id, name_id=f"{card_id}--name", args_id=f"{card_id}--args", name=str(call.get("name") or ""),
            call_id=None, state="failed" if failed else "done", args_html=args))
    return "".join(cards)


__all__ = ["json_html", "markdown_html", "tool_calls_html"]
