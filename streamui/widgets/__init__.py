"""Widgets for streamed JSON: a registry of path patterns -> Jinja2 templates, and renderers that
turn partial-JSON parser events into htmx out-of-band fragments. No Django needed."""

from .registry import BUILTIN_WIDGETS, PathPattern, WidgetRegistry, WidgetSpec
from .render import JSONWidgetRenderer, dom_id, environment, safe_href
from .tools import ToolCallsRenderer

__all__ = [
    "BUILTIN_WIDGETS",
    "JSONWidgetRenderer",
    "PathPattern",
    "ToolCallsRenderer",
    "WidgetRegistry",
    "WidgetSpec",
    "dom_id",
    "environment",
    "safe_href",
]
