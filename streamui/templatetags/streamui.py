"""`{% load streamui %}{% streamui_chat %}`: a thin wrapper over streamui.widget.render_chat."""

from __future__ import annotations

from typing import Any

from django import template
from markupsafe import Markup

from ..widget import render_chat

register = template.Library()


@register.simple_tag(takes_context=True)
def streamui_chat(context: Any, **options: Any) -> Markup:
    return render_chat(context["request"], **options)
