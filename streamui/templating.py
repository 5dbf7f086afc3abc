"""streamui's own Jinja2 environment for its widget templates (streamui/jinja2/streamui/).

Private to streamui and autoescaping, so the widget renders the same from a Django
template, a Jinja2 template or plain Python, whatever template engines a site uses.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("streamui", "jinja2"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


__all__ = ["environment"]
