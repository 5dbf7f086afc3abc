"""The vendored htmx files, the pin in streamui/vendor.py and the README agree."""

from __future__ import annotations

import re
from pathlib import Path

from django.contrib.staticfiles import finders

from streamui.vendor import HTMX_SSE_STATIC, HTMX_STATIC, HTMX_VERSION, HTMX_WS_STATIC

ROOT = Path(__file__).resolve().parents[1]


def test_vendored_htmx_is_the_pinned_version() -> None:
    path = finders.find(HTMX_STATIC)
    assert path, HTMX_STATIC
    found = re.findall(r'version="(\d+\.\d+\.\d+)"', Path(path).read_text(encoding="utf-8"))
    assert found == [HTMX_VERSION]


def test_extensions_are_vendored_beside_it() -> None:
    ws = Path(finders.find(HTMX_WS_STATIC) or "")
    sse = Path(finders.find(HTMX_SSE_STATIC) or "")
    assert ws.is_file() and "hx-ws" in ws.read_text(encoding="utf-8")
    assert sse.is_file() and "hx-sse" in sse.read_text(encoding="utf-8")
    only = sorted(p.name for p in ws.parent.glob("htmx-*.js"))
    assert all(name.startswith(f"htmx-{HTMX_VERSION}") for name in only), only


def test_readme_names_the_pinned_version() -> None:
    assert f"htmx.org {HTMX_VERSION}" in (ROOT / "README.md").read_text(encoding="utf-8")
