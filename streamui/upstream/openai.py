"""OpenAI-compatible Chat Completions streaming over httpx (vLLM, llama.cpp, Ollama, OpenAI).

Cancelling the task that iterates `stream()` raises CancelledError inside the
`async with client.stream(...)` block, which closes the HTTP response and its
connection: the server sees the client go away and stops generating. Nothing here
catches CancelledError, on purpose.
"""

from __future__ import annotations

import json
import logging
from typing import Any, AsyncIterator
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from .base import ChatRequest
from .events import (
    Confirm,
    DraftDelta,
    End,
    Event,
    ReasoningDelta,
    Rollback,
    TextDelta,
    ToolCallDelta,
    UpstreamError,
    Usage,
)

logger = logging.getLogger("streamui.upstream")

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_IDLE_TIMEOUT = 60.0
MAX_ERROR_BODY = 2048


class MalformedStream(ValueError):
    pass


def public_url(url: str) -> str:
    """The URL without user:password@, for labels and logs."""
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class OpenAICompatibleUpstream:
    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
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
        self.timeout = httpx.Timeout(connect=connect_timeout, read=idle_timeout, write=idle_timeout, pool=connect_timeout)
        self._transport = transport
        self.name = "openai"

    def __repr__(self) -> str:
        # The key never appears in reprs, logs or pages.
        return f"OpenAICompatibleUpstream(base_url={self.base_url!r}, model={self.model!r})"

    @property
    def completions_url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _redact(self, text: str) -> str:
        """An error text without the secrets: a server may quote the key or the URL's password back."""
        for secret in (self._api_key, self._url_password):
            if secret:
                text = text.replace(secret, "[redacted]")
        return text

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": request.max_tokens,
        }
        if request.response_format:
            body["response_format"] = request.response_format
        body.update(request.extra)
        return body

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        async with httpx.AsyncClient(timeout=self.timeout, transport=self._transport, auth=self._auth) as client:
            try:
                async with client.stream(
                    "POST", self.completions_url, json=self.payload(request), headers=self._headers()
                ) as response:
                    if response.status_code >= 400:
                        yield await self._http_error(response)
                        return
                    async for event in self._events(response):
                        yield event
            except httpx.ConnectError as exc:
                logger.warning("upstream refused: %s %s", self.completions_url, self._redact(str(exc)))
                yield UpstreamError(self._redact(f"could not connect to the model server ({exc})"), "refused")
            except httpx.TimeoutException as exc:
                logger.warning("upstream timeout: %s %s", self.completions_url, type(exc).__name__)
                yield UpstreamError(f"the model server sent nothing for too long ({type(exc).__name__})", "timeout")
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                logger.warning("upstream dropped: %s %s", self.completions_url, self._redact(repr(exc)))
                yield UpstreamError(self._redact(f"the connection to the model server was lost ({exc})"), "dropped")
            except MalformedStream as exc:
                logger.warning("upstream malformed stream: %s", self._redact(str(exc)))
                yield UpstreamError(self._redact(str(exc)), "malformed")

    async def _http_error(self, response: httpx.Response) -> UpstreamError:
        body = b""
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_ERROR_BODY:
                break
        detail = body[:MAX_ERROR_BODY].decode("utf-8", "replace")
        try:
            detail = json.loads(detail)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            pass
        status = response.status_code
        retry_after: float | None = None
        if status == 429:
            try:
                retry_after = float(response.headers.get("retry-after", ""))
            except ValueError:
                retry_after = None
        detail = self._redact(str(detail))
        logger.warning("upstream HTTP %s from %s: %s", status, self.completions_url, detail)
        kind = "rate_limited" if status == 429 else "http"
        message = f"the model server answered HTTP {status}: {detail}"
        if status == 429:
            message = f"the model server is rate limiting requests (HTTP 429){f'; retry after {retry_after:g} s' if retry_after else ''}: {detail}"
        return UpstreamError(message, kind, status, retry_after)

    async def _events(self, response: httpx.Response) -> AsyncIterator[Event]:
        finish_reason: str | None = None
        async for line in response.aiter_lines():
            # aiter_lines decodes incrementally: a UTF-8 character split across
            # network reads is joined before it reaches us.
            if not line or line.startswith(":"):
                continue
            if not line.startswith("data:"):
                continue  # event:, id:, retry: fields carry nothing we use
            data = line[5:].strip()
            if data == "[DONE]":
                yield End(finish_reason or "stop")
                return
            try:
                chunk = json.loads(data)
            except json.JSONDecodeError as exc:
                raise MalformedStream(f"the model server sent a malformed event: {data[:120]!r} ({exc.msg})") from None
            if not isinstance(chunk, dict):
                raise MalformedStream(f"the model server sent a non-object event: {data[:120]!r}")
            if "error" in chunk:
                err = chunk["error"]
                message = err.get("message") if isinstance(err, dict) else str(err)
                yield UpstreamError(self._redact(f"the model server reported an error: {message}"), "http")
                return
            for event in _chunk_events(chunk):
                yield event
            for choice in chunk.get("choices") or []:
                if isinstance(choice, dict) and choice.get("finish_reason"):
                    finish_reason = str(choice["finish_reason"])
        if finish_reason is not None:
            yield End(finish_reason)
        else:
            yield UpstreamError("the model server closed the stream before it finished", "dropped")


def _chunk_events(chunk: dict[str, Any]) -> list[Event]:
    events: list[Event] = []
    for choice in chunk.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            continue
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            events.append(ReasoningDelta(reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            events.append(TextDelta(content))
        # streamui's extension for speculative decoding (the fake server emits these).
        if isinstance(delta.get("streamui_draft"), str):
            events.append(DraftDelta(delta["streamui_draft"]))
        if isinstance(delta.get("streamui_rollback"), int):
            events.append(Rollback(delta["streamui_rollback"]))
        if delta.get("streamui_confirm") is True:
            events.append(Confirm())
        for call in delta.get("tool_calls") or []:
            if not isinstance(call, dict):
                continue
            function = call.get("function") or {}
            events.append(
                ToolCallDelta(
                    index=int(call.get("index", 0)),
                    call_id=call.get("id"),
                    name=function.get("name"),
                    arguments=str(function.get("arguments") or ""),
                )
            )
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        events.append(Usage(usage.get("prompt_tokens"), usage.get("completion_tokens")))
    return events


__all__ = ["OpenAICompatibleUpstream", "DEFAULT_CONNECT_TIMEOUT", "DEFAULT_IDLE_TIMEOUT", "public_url"]
