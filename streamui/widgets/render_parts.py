"""The pure pieces the JSON widget renderer is built from: the widgets' Jinja2 environment,
DOM ids for paths, the out-of-band append wrapper, and how a value reads (a safe link, a
source card, a meter, a markdown string). No state: each is a function of its arguments."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from streamui.pipeline.partial_json import Path

__all__ = ["dom_id", "environment", "is_meter", "markdown_fragment", "oob_append", "safe_href", "source_card"]

_UNSAFE = re.compile(r"[^A-Za-z0-9]")
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_METER_KEY = re.compile(r"confidence|probability|certainty|likelihood|score|prob\b", re.IGNORECASE)
_ONE_PARAGRAPH = re.compile(r"<p>((?:(?!</?p>).)*)</p>\n?", re.DOTALL)


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


def oob_append(host_id: str, inner: Markup) -> str:
    """`inner` as an htmx fragment appended to the element `host_id`."""
    return str(Markup('<div id="{}" hx-swap-oob="beforeend">{}</div>').format(host_id, inner))


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
