"""A Jinja2 environment for Django's Jinja2 backend with `streamui_chat()` as a global.

TEMPLATES = [{"BACKEND": "django.template.backends.jinja2.Jinja2",
              "OPTIONS": {"environment": "streamui.jinja2_env.environment"}}]
Sites with their own environment function add `streamui_chat` to its globals instead.
"""

from __future__ import annotations

from typing import Any

from django.templatetags.static import static
from jinja2 import Environment, pass_context
from markupsafe import Markup

from .widget import render_chat


@pass_context
def streamui_chat(context: Any, **options: Any) -> Markup:
    return render_chat(context["request"], **options)


def environment(**options: Any) -> Environment:
    env = Environment(**options)
    env.globals.update({"static": static, "streamui_chat": streamui_chat})
    return env


__all__ = ["environment", "streamui_chat"]
