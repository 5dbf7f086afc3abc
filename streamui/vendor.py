"""Versions of the JavaScript that streamui vendors under static/streamui/vendor/.

scripts/vendor-htmx.sh reads the pin from here; tests/test_vendor.py checks that the
vendored files carry the same version, so the pin, the files and the docs cannot drift.
"""

HTMX_VERSION = "4.0.1"

HTMX_STATIC = f"streamui/vendor/htmx-{HTMX_VERSION}.min.js"
HTMX_WS_STATIC = f"streamui/vendor/htmx-{HTMX_VERSION}-ext-ws.min.js"
HTMX_SSE_STATIC = f"streamui/vendor/htmx-{HTMX_VERSION}-ext-sse.min.js"

__all__ = ["HTMX_SSE_STATIC", "HTMX_STATIC", "HTMX_VERSION", "HTMX_WS_STATIC"]
