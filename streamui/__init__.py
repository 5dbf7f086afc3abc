"""streamui: server-rendered streaming UX for LLM chat in Django.

The names below are the public API: a site may rely on them across minor versions. Everything
else is private by convention, even where a module has no leading underscore. Test and demo aids
live in `streamui.testing`.

Names are imported on first use, so `import streamui.pipeline...` (the core stages) stays
free of Django.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_EXPORTS: dict[str, str] = {
    # The upstream interface and its events.
    "Upstream": "streamui.upstream.base",
    "ChatRequest": "streamui.upstream.base",
    "Message": "streamui.upstream.base",
    "Event": "streamui.upstream.events",
    "TextDelta": "streamui.upstream.events",
    "ReasoningDelta": "streamui.upstream.events",
    "ToolCallDelta": "streamui.upstream.events",
    "DraftDelta": "streamui.upstream.events",
    "Rollback": "streamui.upstream.events",
    "Confirm": "streamui.upstream.events",
    "Usage": "streamui.upstream.events",
    "UpstreamError": "streamui.upstream.events",
    "End": "streamui.upstream.events",
    "RefusalDelta": "streamui.upstream.events",
    "end_state": "streamui.upstream.events",
    "OpenAICompatibleUpstream": "streamui.upstream.openai",
    "CallableUpstream": "streamui.upstream.custom",
    "AnthropicUpstream": "streamui.upstream.anthropic",
    # Smoothing strategies.
    "SmoothingStrategy": "streamui.pipeline.smoothing",
    "Reveal": "streamui.pipeline.smoothing",
    "Passthrough": "streamui.pipeline.smoothing",
    "register_strategy": "streamui.pipeline.smoothing",
    # Correction policies.
    "CorrectionPolicy": "streamui.pipeline.corrections",
    "FoundCorrection": "streamui.pipeline.corrections",
    "Resolution": "streamui.pipeline.corrections",
    "register_policy": "streamui.pipeline.corrections",
    "Registry": "streamui.pipeline.registry",
    # JSON widgets.
    "WidgetRegistry": "streamui.widgets.registry",
    "WidgetSpec": "streamui.widgets.registry",
    # The widget and the settings.
    "render_chat": "streamui.widget",
    "Settings": "streamui.conf",
    "UpstreamConfig": "streamui.conf",
    "get_settings": "streamui.conf",
}

__all__ = [
    "AnthropicUpstream",
    "CallableUpstream",
    "ChatRequest",
    "Confirm",
    "CorrectionPolicy",
    "DraftDelta",
    "End",
    "Event",
    "FoundCorrection",
    "Message",
    "OpenAICompatibleUpstream",
    "Passthrough",
    "ReasoningDelta",
    "RefusalDelta",
    "Registry",
    "Resolution",
    "Reveal",
    "Rollback",
    "Settings",
    "SmoothingStrategy",
    "TextDelta",
    "ToolCallDelta",
    "Upstream",
    "UpstreamConfig",
    "UpstreamError",
    "Usage",
    "WidgetRegistry",
    "WidgetSpec",
    "__version__",
    "end_state",
    "get_settings",
    "register_policy",
    "register_strategy",
    "render_chat",
]


assert set(__all__) == {*_EXPORTS, "__version__"}, "__all__ names every export"


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'streamui' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from .conf import Settings, UpstreamConfig, get_settings
    from .pipeline.corrections import CorrectionPolicy, FoundCorrection, Resolution, register_policy
    from .pipeline.registry import Registry
    from .pipeline.smoothing import Passthrough, Reveal, SmoothingStrategy, register_strategy
    from .upstream.anthropic import AnthropicUpstream
    from .upstream.base import ChatRequest, Message, Upstream
    from .upstream.custom import CallableUpstream
    from .upstream.events import (
        Confirm,
        DraftDelta,
        End,
        Event,
        ReasoningDelta,
        RefusalDelta,
        Rollback,
        TextDelta,
        ToolCallDelta,
        UpstreamError,
        Usage,
        end_state,
    )
    from .upstream.openai import OpenAICompatibleUpstream
    from .widget import render_chat
    from .widgets.registry import WidgetRegistry, WidgetSpec
