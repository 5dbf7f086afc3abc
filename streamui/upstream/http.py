"""What every streaming HTTP upstream shares: the connection pool, the request, errors, the guard.

Subclasses say what to send (`payload`, `headers`, `endpoint`) and how to read it
(`parser()`: Server-Sent Events to upstream events). This class:

- keeps one `httpx.AsyncClient` (one connection pool) per upstream instance and event
  loop, and reads a finished body to its end, so the next stream reuses the connection
  instead of opening a client and a connection each;
- reads the body as Server-Sent Events (sse.py, httpx-sse underneath), also when a
  server labels an event stream wrongly; a body that is not an event stream is read as
  the error or the non-streamed answer it is;
- turns every failure into an `UpstreamError` with the provider's message for the user
  and the technical detail apart (errors.py), secrets redacted;
- runs `outcome.guarded()`: one terminal event, never an empty complete answer.

Cancelling the task that iterates `stream()` raises CancelledError inside
`async with client.stream(...)`, which closes the HTTP response and its connection:
the server sees the client go away and stops generating. Nothing here catches
CancelledError, on purpose; a response that was not read to its end is never returned
to the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import AsyncIterator
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import httpx
from httpx_sse import ServerSentEvent

from .base import ChatRequest
from .errors import body_message, http_status_error, in_band_error, looks_like_html, transport_error
from .events import End, Event, UpstreamError
from .implied_think import implied_think
from .network import AsyncioTransport
from .openai_chunks import MalformedStream
from .outcome import guarded
from .sse import aiter_sse

logger = logging.getLogger("streamui.upstream")

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_IDLE_TIMEOUT = 60.0
MAX_ERROR_BODY = 16 * 1024
MAX_PLAIN_BODY = 4 * 1024 * 1024
DRAIN_SECONDS = 0.5
DRAIN_EVENTS = 100
SSE_STARTS = ("data:", "event:", ":", "id:", "retry:", "error:")


def public_url(url: str) -> str:
    """The URL without user:password@, for labels and logs."""
    parsed = httpx.URL(url)
    if not parsed.userinfo:
        return url
    return str(parsed.copy_with(username=None, password=None))


class StreamParser(Protocol):
    def feed(self, sse: ServerSentEvent) -> list[Event]: ...

    def close(self) -> list[Event]: ...

    def whole(self, body: Any) -> list[Event]: ...


class HTTPUpstream:
    name = "http"
    endpoint = "/chat/completions"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        implied_think: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        # Credentials in the URL travel as basic auth, so the URL httpx logs carries none.
        parts = urlsplit(base_url)
        self._auth = httpx.BasicAuth(unquote(parts.username or ""), unquote(parts.password or "")) if (
            parts.username or parts.password) else None
        self._url_password = unquote(parts.password or "")
        self.base_url = public_url(base_url).rstrip("/")
        self.model = model
        self._api_key = api_key
        self.implied_think = implied_think
        self.timeout = httpx.Timeout(connect=connect_timeout, read=idle_timeout, write=idle_timeout,
                                     pool=connect_timeout)
        self._transport = transport
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary())

    def __repr__(self) -> str:
        # The key never appears in reprs, logs or pages.
        return f"{type(self).__name__}(base_url={self.base_url!r}, model={self.model!r})"

    @property
    def url(self) -> str:
        return f"{self.base_url}{self.endpoint}"

    # --- what subclasses say ---------------------------------------------------------

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        return {"Accept": "text/event-stream"}

    def parser(self) -> StreamParser:
        raise NotImplementedError

    # --- the pool ------------------------------------------------------------------

    def client(self) -> httpx.AsyncClient:
        """This instance's client for the running loop (httpx pools are bound to one loop)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            # No cap on connections: each running stream holds one for its whole answer, and httpx's
            # default of 100 made stream 101 of a process wait for a free one, then fail with a pool
            # timeout (the count of streams is bounded by admission and the overload guard instead).
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
            client = httpx.AsyncClient(timeout=self.timeout, auth=self._auth,
                                       transport=self._transport or AsyncioTransport(limits=limits))
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close this loop's pool (a site that builds upstreams per process need not)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    # --- the stream ----------------------------------------------------------------

    def _redact(self, text: str) -> str:
        """A text without the secrets: a server may quote the key or the URL's password back."""
        for secret in (self._api_key, self._url_password):
            if secret:
                text = text.replace(secret, "[redacted]")
        return text

    def _clean(self, error: UpstreamError) -> UpstreamError:
        return UpstreamError(self._redact(error.message), error.kind, error.status, error.retry_after,
                             self._redact(error.detail) if error.detail else None)

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        events = self._events(request)
        if self.implied_think:
            events = implied_think(events)
        async for event in guarded(events):
            if isinstance(event, UpstreamError):
                event = self._clean(event)
                logger.warning("upstream %s (%s): %s | %s", self.url, event.kind, event.message, event.detail)
            yield event

    async def _events(self, request: ChatRequest) -> AsyncIterator[Event]:
        try:
            async with self.client().stream("POST", self.url, json=self.payload(request),
                                            headers=self.headers()) as response:
                async for event in self._response_events(response):
                    yield event
                    if isinstance(event, (End, UpstreamError)):
                        return
        except (httpx.RequestError, httpx.InvalidURL) as exc:
            yield transport_error(exc, self.base_url)
        except MalformedStream as exc:
            yield UpstreamError(str(exc), "malformed", detail=exc.detail)

    async def _response_events(self, response: httpx.Response) -> AsyncIterator[Event]:
        if response.status_code >= 400:
            yield http_status_error(response, await _read(response, MAX_ERROR_BODY))
            return
        content_type = response.headers.get("content-type", "").lower()
        chunks: AsyncIterator[bytes]
        if "text/event-stream" in content_type:
            chunks = response.aiter_bytes()
        else:
            body = await _read(response, MAX_PLAIN_BODY)
            if not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(tuple(s.encode() for s in SSE_STARTS)):
                for event in self._plain_body(body, content_type):
                    yield event
                return
            chunks = _once(body)  # an event stream under another Content-Type
        parser = self.parser()
        sse_events = aiter_sse(chunks)
        async for sse in sse_events:
            for event in parser.feed(sse):
                if isinstance(event, End):
                    await _drain(sse_events)
                yield event
        for event in parser.close():
            yield event

    def _plain_body(self, body: bytes, content_type: str) -> list[Event]:
        """A 2xx body that is not an event stream: a JSON error, a whole answer, or a web page."""
        text = body.decode("utf-8", "replace").removeprefix("\ufeff")
        if looks_like_html(content_type, text):
            message, excerpt = body_message(body, content_type)
            return [UpstreamError(f"the model server answered with {message} instead of a stream; "
                                  f"is the base URL right?", "http", detail=excerpt)]
        try:
            obj = json.loads(text)
        except ValueError:
            _, excerpt = body_message(body, content_type)
            return [UpstreamError("the model server answered with something that is not a stream",
                                  "malformed", detail=excerpt)]
        if isinstance(obj, dict) and (obj.get("error") or obj.get("object") == "error" or obj.get("type") == "error"):
            return [in_band_error(obj)]
        return self.parser().whole(obj)


async def _read(response: httpx.Response, limit: int) -> bytes:
    body = b""
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            break
    return body[:limit]


async def _drain(rest: AsyncIterator[object]) -> None:
    """Read what follows the end event (usually just the chunked body's terminator), briefly.

    A response read to its end goes back to the pool and the next stream reuses its
    connection; one left half-read is closed. A server that keeps sending after the end
    gets DRAIN_SECONDS and DRAIN_EVENTS, then its connection is closed.
    """
    with contextlib.suppress(TimeoutError, httpx.HTTPError):
        async with asyncio.timeout(DRAIN_SECONDS):
            count = 0
            async for _ in rest:
                count += 1
                if count > DRAIN_EVENTS:
                    return


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


__all__ = ["DEFAULT_CONNECT_TIMEOUT", "DEFAULT_IDLE_TIMEOUT", "HTTPUpstream", "StreamParser", "public_url"]
