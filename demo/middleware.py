"""A strict Content-Security-Policy on the demo site's HTML pages.

streamui needs no inline script, no inline style and no eval: htmx, its ws/sse
extensions and streamui.js are same-origin files, the fragments the server sends
carry no script, and htmx's indicator CSS goes in through a constructed stylesheet
(`document.adoptedStyleSheets`), which CSP does not govern. So the policy can forbid
everything that is not a file of this site; tests/security/test_csp.py proves the
playground, both transports and the dashboard work under it without a violation.

`connect-src 'self'` also covers the widget's WebSocket: since CSP Level 3, 'self'
matches ws:/wss: to the page's own host and port (the test connects through it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ]
)


def _with_policy(response: HttpResponseBase) -> HttpResponseBase:
    # HTML only: a policy on JSON, SVG or an event stream protects nothing a browser renders as a page.
    if not response.get("Content-Type", "").startswith("text/html") or "Content-Security-Policy" in response:
        return response
    # With DEBUG, error responses are Django's technical pages, styled and scripted inline: left
    # readable. Without DEBUG (any real deployment) every HTML page gets the policy.
    if settings.DEBUG and response.status_code >= 400:
        return response
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@sync_and_async_middleware
def content_security_policy(
    get_response: Callable[[HttpRequest], HttpResponseBase]
    | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
) -> Callable[[HttpRequest], HttpResponseBase] | Callable[[HttpRequest], Awaitable[HttpResponseBase]]:
    # Both flavours, so Django never has to wrap the async views (SSE) in a thread to run this.
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            return _with_policy(await get_response(request))  # type: ignore[misc]
    else:

        def middleware(request: HttpRequest) -> HttpResponseBase:  # type: ignore[misc]
            return _with_policy(get_response(request))  # type: ignore[arg-type]

    return middleware


__all__ = ["CONTENT_SECURITY_POLICY", "content_security_policy"]
