"""Turning what a model server sends when it fails into an `UpstreamError` a user can read.

Servers say "it failed" in many shapes; the user should get the provider's own words,
with the technical detail kept apart (`UpstreamError.detail`):

- OpenAI, Azure, SGLang, vLLM (current), Groq, LiteLLM, OpenRouter, Anthropic:
  `{"error": {"message": ..., "type": ..., "code": ...}}` (Anthropic adds `"type": "error"`);
- TGI: `{"error": "Input validation error: ...", "error_type": "validation"}`;
- vLLM (older): `{"object": "error", "message": ..., "type": ..., "code": 400}`;
- llama.cpp's `error:` field: the bare `{"code": 500, "message": ..., "type": ...}`;
- FastAPI-style servers: `{"detail": "..."}`;
- a proxy's or a web server's HTML page (nginx 502, Cloudflare 52x, a web UI at the
  wrong path): its <title>.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import httpx

from .events import ErrorKind, UpstreamError

MAX_BODY_EXCERPT = 300
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def provider_message(obj: Any) -> str | None:
    """The human message inside a parsed error object, or None when there is none."""
    if isinstance(obj, str):
        return obj.strip() or None
    if not isinstance(obj, dict):
        return None
    err = obj.get("error")
    if isinstance(err, dict):
        found = provider_message(err)
        if found:
            return found
    elif isinstance(err, str) and err.strip():
        return err.strip()
    for key in ("message", "detail", "msg", "error_message"):
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, list) and value:  # FastAPI validation errors: [{"msg": ...}, ...]
            found = provider_message(value[0])
            if found:
                return found
    return None


def provider_status(obj: Any) -> int | None:
    """An HTTP-like status inside an error object (`code` 400-599), if any."""
    if not isinstance(obj, dict):
        return None
    err = obj.get("error")
    for source in (err if isinstance(err, dict) else {}, obj):
        code = source.get("code", source.get("status"))
        if isinstance(code, str) and code.isdigit():
            code = int(code)
        if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
            return code
    return None


def _is_rate_limit(obj: Any, status: int | None) -> bool:
    if status == 429:
        return True
    err = obj.get("error") if isinstance(obj, dict) else None
    kinds = [obj.get("type")] if isinstance(obj, dict) else []
    if isinstance(err, dict):
        kinds += [err.get("type"), err.get("code")]
    return any(isinstance(k, str) and "rate_limit" in k for k in kinds)


def in_band_error(obj: Any) -> UpstreamError:
    """An error the server reported inside a 200 stream or body."""
    message = provider_message(obj) or "the model server reported an error without a message"
    status = provider_status(obj)
    kind: ErrorKind = "rate_limited" if _is_rate_limit(obj, status) else "http"
    detail = json.dumps(obj, ensure_ascii=False)[:MAX_BODY_EXCERPT] if not isinstance(obj, str) else None
    return UpstreamError(f"the model server reported an error: {message}", kind, status, detail=detail)


def html_summary(text: str) -> str | None:
    """A one-line summary of an HTML page: its <title> (else its first <h1>)."""
    for pattern in (_TITLE, _H1):
        match = pattern.search(text)
        if match:
            summary = " ".join(html.unescape(_TAG.sub("", match.group(1))).split())
            if summary:
                return summary
    return None


def looks_like_html(content_type: str, text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return "html" in content_type or head.startswith(("<!doctype html", "<html"))


def body_message(body: bytes, content_type: str) -> tuple[str, str]:
    """(the provider's message, a technical excerpt) for an error body of any type."""
    text = body.decode("utf-8", "replace").removeprefix("\ufeff")
    excerpt = " ".join(text.split())[:MAX_BODY_EXCERPT]
    if looks_like_html(content_type, text):
        summary = html_summary(text)
        return (f"an HTML page ({summary})" if summary else "an HTML page"), excerpt
    try:
        found = provider_message(json.loads(text))
    except ValueError:
        found = None
    if found:
        return found, excerpt
    return (excerpt or "an empty body"), excerpt


def retry_after(response: httpx.Response) -> float | None:
    try:
        value = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def http_status_error(response: httpx.Response, body: bytes) -> UpstreamError:
    """A 4xx/5xx answer: the status, the provider's message, Retry-After for 429."""
    status = response.status_code
    message, excerpt = body_message(body, response.headers.get("content-type", ""))
    if status == 429:
        after = retry_after(response)
        wait = f"; retry after {after:g} s" if after else ""
        return UpstreamError(f"the model server is rate limiting requests (HTTP 429){wait}: {message}",
                             "rate_limited", status, after, detail=excerpt)
    return UpstreamError(f"the model server answered HTTP {status}: {message}", "http", status, detail=excerpt)


def transport_error(exc: Exception, server: str) -> UpstreamError:
    """A failure below HTTP (connect, timeout, lost connection), in words for the user."""
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return UpstreamError(f"could not connect to the model server at {server}", "refused", detail=detail)
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamError("the model server sent nothing for too long", "timeout", detail=detail)
    return UpstreamError("the connection to the model server was lost", "dropped", detail=detail)


__all__ = [
    "body_message",
    "html_summary",
    "http_status_error",
    "in_band_error",
    "looks_like_html",
    "provider_message",
    "provider_status",
    "transport_error",
]
