"""The upstream's credentials never reach the browser or the log; no page or fragment carries script.

Secrets: the API key (and a password in the upstream URL) are recognisable canaries; every
channel to the browser is searched for them: the pages (playground in each transport, the
Jinja2 page, the dashboard), the stream record JSON, the metrics, the websocket frames of an
answer streamed from the fake LLM over real HTTP, and every log record of the server.

Markup: every template file and every rendered page has scripts only as files (a src and no
body), no on* handler attribute and no inline style, so the strict Content-Security-Policy of
demo/middleware.py holds (tests/security/test_csp.py proves it in Chromium).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import AsyncClient, Client, override_settings
from django.utils.timezone import now

from demo.middleware import CONTENT_SECURITY_POLICY
from streamui.models import ChatMessage, Conversation, StreamRecord
from streamui.testing.fake_server import FakeLLMServer
from tools.loadgen.frames import read_frame
from tools.loadgen.wire_reader import decode, note_send

from .helpers import ENDED, assert_csp_clean_page, audit, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk-streamui-canary-8d1f6a0c2e9b4b7f"
URL_PASSWORD = "urlpass-canary-5c3e91a7"
PAGES = ["/", "/?transport=websocket", "/?transport=sse", "/jinja/", "/streamui/dashboard/"]


def upstream_settings(base_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "UPSTREAM_URL": base_url,
        "UPSTREAM_MODEL": "steady",
        "UPSTREAM_API_KEY": API_KEY,
        "MAX_TOKENS": 30,
        "DASHBOARD_PUBLIC": True,
        "DISCONNECT_GRACE": 0.0,
        **extra,
    }


async def new_session() -> str:
    session = SessionStore()
    await session.asave()
    assert session.session_key
    return session.session_key


async def stream_an_answer(
    session_key: str, prompt: str = "Can a minor sue or be sued?"
) -> tuple[str, list[str]]:
    """One answer over the websocket, through the whole ASGI stack: its stream id and every frame, raw."""
    comm, connected, _ = await open_socket(session_key)
    assert connected
    note_send(comm, prompt)  # the turn frame leaves out the prompt the widget sent
    await comm.send_to(text_data=json.dumps({"action": "send", "prompt": prompt, "conversation": ""}))
    frames: list[str] = []
    stream_id = ""
    while True:
        raw = await comm.receive_from(timeout=10)
        frames.append(raw)
        data = decode(raw, comm)
        if "seq" in data:
            stream_id = data["stream"]
            if ENDED.search(data["content"]):
                break
    await comm.disconnect()
    return stream_id, frames


async def everything_the_browser_gets(session_key: str, stream_id: str) -> dict[str, str]:
    """Each page and endpoint as this visitor sees it, headers included."""
    client = AsyncClient()
    client.cookies["sessionid"] = session_key
    seen: dict[str, str] = {}
    for url in [*PAGES, f"/streamui/streams/{stream_id}/", "/streamui/metrics/"]:
        response = await client.get(url)  # from 127.0.0.1: the metrics are served to loopback
        assert response.status_code == 200, (url, response.status_code)
        seen[url] = "\n".join(f"{k}: {v}" for k, v in response.items()) + "\n\n" + response.content.decode()
    return seen


def logged(caplog: pytest.LogCaptureFixture, logger: str = "") -> str:
    """Every log record (of this logger and its children, or of all) as a handler could write it:
    message, arguments, extra fields, traceback."""
    return "\n".join(
        f"{r.getMessage()} {r.__dict__!r} {r.exc_text or ''}"
        for r in caplog.records
        if r.name == logger or r.name.startswith(f"{logger}.") or not logger
    )


# --- the API key -----------------------------------------------------------------------------------


async def test_the_api_key_never_reaches_the_browser_or_the_log(
    fake_llm: FakeLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with override_settings(STREAMUI=upstream_settings(fake_llm.base_url)):
        session_key = await new_session()
        stream_id, frames = await stream_an_answer(session_key)
        seen = await everything_the_browser_gets(session_key, stream_id)
    # The key was really in use: the fake LLM got it, and the answer streamed.
    assert fake_llm.records and fake_llm.records[-1].authorization
    assert any(read_frame(frame).reveal for frame in frames)
    assert (
        "/streamui/send/" in seen["/?transport=sse"]
        and '"stream_id"' in seen[f"/streamui/streams/{stream_id}/"]
    )
    for where, text in {**seen, "websocket frames": "\n".join(frames), "server log": logged(caplog)}.items():
        assert API_KEY not in text, f"the API key is in {where}"


async def _start_echoing_upstream(kind: str) -> tuple[asyncio.AbstractServer, str]:
    """A misconfigured or hostile OpenAI-compatible server that quotes the Authorization header back
    in its error message (some proxies and gateways do): HTTP 401, or an error event mid-stream."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        headers = dict(line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line)
        length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
        await reader.readexactly(length)
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        error = json.dumps(
            {"error": {"message": f"Invalid credentials: {auth}", "type": "invalid_request_error"}}
        )
        if kind == "http":
            body = error.encode()
            writer.write(
                b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
        else:
            chunk = {"choices": [{"index": 0, "delta": {"content": "Hello "}}]}
            body = f"data: {json.dumps(chunk)}\n\ndata: {error}\n\n".encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v1"


@pytest.fixture(params=["http", "in-stream"])
async def echoing_upstream(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    server, url = await _start_echoing_upstream(request.param)
    try:
        yield url
    finally:
        server.close()
        await server.wait_closed()


async def test_an_upstream_that_quotes_the_key_back_does_not_leak_it(
    echoing_upstream: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with override_settings(STREAMUI=upstream_settings(echoing_upstream)):
        session_key = await new_session()
        stream_id, frames = await stream_an_answer(session_key)
        seen = await everything_the_browser_gets(session_key, stream_id)
    assert "interrupted" in frames[-1]  # the error reached the widget: the check below means something
    record = await StreamRecord.objects.select_related("message").aget(stream_id=stream_id)
    assert record.error_kind == "http"
    for where, text in {
        **seen,
        "websocket frames": "\n".join(frames),
        "server log": logged(caplog),
        "stored answer": record.message.error,
        "stream record": record.error_message,
    }.items():
        assert API_KEY not in text, f"the API key is in {where}"


@pytest.mark.parametrize(
    "logger",
    [
        "streamui",
        pytest.param("", id="every-logger"),  # httpx logs each request URL at INFO
    ],
)
async def test_credentials_in_the_upstream_url_never_reach_the_browser_or_the_log(
    fake_llm: FakeLLMServer, caplog: pytest.LogCaptureFixture, logger: str
) -> None:
    caplog.set_level(logging.DEBUG)
    url = fake_llm.base_url.replace("http://", f"http://streamui:{URL_PASSWORD}@")
    with override_settings(STREAMUI=upstream_settings(url)):
        session_key = await new_session()
        stream_id, frames = await stream_an_answer(session_key)
        seen = await everything_the_browser_gets(session_key, stream_id)
    assert fake_llm.records  # the URL works: httpx sends its userinfo as basic auth
    for where, text in {**seen, "websocket frames": "\n".join(frames), "log": logged(caplog, logger)}.items():
        assert URL_PASSWORD not in text, f"the password of the upstream URL is in {where}"


# --- markup: no inline script, no handler attributes, no inline style ----------------------------------


def templates() -> list[Path]:
    found = [
        p
        for base in ("streamui/jinja2", "streamui/templates", "demo/templates")
        for p in (ROOT / base).rglob("*.html")
    ]
    assert len(found) >= 15  # the widget, its fragments and the pages: the glob found them
    return sorted(found)


@pytest.mark.parametrize("path", templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_carries_inline_script_handlers_or_style(path: Path) -> None:
    # The source itself, template tags and all: html.parser reads them as text or attribute values.
    assert_csp_clean_page(path.read_text(), str(path.relative_to(ROOT)))


HOSTILE = (
    '<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(1)">y</a>'
    '<div style="background:red" onclick="alert(1)">z</div>'
)


def hostile_history(session_key: str) -> None:
    """A conversation whose every stored field an attacker (or a model) could have written."""
    conversation = Conversation.objects.create(session_key=session_key, title=HOSTILE[:200])
    for status in ("complete", "stopped", "interrupted"):
        ChatMessage.objects.create(conversation=conversation, role="user", content=HOSTILE)
        ChatMessage.objects.create(
            conversation=conversation,
            role="assistant",
            content=f"# Title\n\n{HOSTILE}\n\n[link](javascript:alert(1)) `{HOSTILE}`",
            reasoning=HOSTILE,
            status=status,
            error=HOSTILE,
        )
    answer = {
        "title": HOSTILE,
        "confidence": 0.5,
        "answer": HOSTILE,
        "needs_review": True,
        "sources": [{"title": HOSTILE, "url": "javascript:alert(1)"}],
        "follow_up": [HOSTILE],
    }
    ChatMessage.objects.create(conversation=conversation, role="user", content=HOSTILE)
    ChatMessage.objects.create(
        conversation=conversation,
        role="assistant",
        mode="json",
        content=json.dumps(answer),
        tool_calls=[{"id": HOSTILE, "name": HOSTILE, "arguments": HOSTILE}],
    )
    ChatMessage.objects.create(conversation=conversation, role="user", content=HOSTILE)
    ChatMessage.objects.create(
        conversation=conversation,
        role="assistant",
        mode="json",
        content='{"title": "<scr',
        status="interrupted",
    )  # broken JSON: the raw-text fallback
    ChatMessage.objects.create(conversation=conversation, role="user", content=HOSTILE)
    message = ChatMessage.objects.create(conversation=conversation, role="assistant", status="streaming")
    StreamRecord.objects.create(
        stream_id="hostile-stream",
        conversation=conversation,
        message=message,
        session_key=session_key,
        upstream=HOSTILE[:100],
        strategy="adaptive",
        arm=HOSTILE[:50],
        started_at=now(),
        end_reason="",
        timeline={"arrivals": [[0.1, 3]], "reveals": [[0.2, 3]]},
    )


@pytest.mark.parametrize("url", [*PAGES, "/streamui/dashboard/?stream=hostile-stream"])
def test_pages_with_hostile_history_carry_no_inline_script_handlers_or_style(url: str) -> None:
    client = Client()
    client.get("/")  # a session
    session_key = client.cookies["sessionid"].value
    with override_settings(STREAMUI={"DASHBOARD_PUBLIC": True}):
        hostile_history(session_key)
        response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    if "dashboard" not in url:  # the whole history rendered, the JSON answer as widgets
        turns = re.sub(r"<template\b.*?</template>", "", page, flags=re.DOTALL)  # the widget's turn template
        assert turns.count('data-role="user"') == 6 and "su-w-card" in page
    assert_csp_clean_page(page, url)
    found = audit(page)
    # Scripts are checked above (files only); links and metas belong to a page. No javascript: URL, no frames:
    # <template>: the widget's turn and figures templates, inert until streamui.js clones them (no model text).
    assert not [u for u in found.unsafe if u not in ("<link>", "<meta>", "<script>", "<template>")], found.unsafe
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_the_policy_is_only_on_html() -> None:
    client = Client()
    assert client.get("/")["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    session_key = client.cookies["sessionid"].value
    conversation = Conversation.objects.create(session_key=session_key)
    StreamRecord.objects.create(
        stream_id="s1", conversation=conversation, session_key=session_key, upstream="x", started_at=now()
    )
    response = client.get("/streamui/streams/s1/")
    assert response["Content-Type"] == "application/json" and "Content-Security-Policy" not in response


def test_the_policy_covers_error_pages_except_debugs_technical_ones() -> None:
    assert Client().get("/no-such-page/")["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    with override_settings(DEBUG=True):  # Django's technical 404 page is styled inline
        assert "Content-Security-Policy" not in Client().get("/no-such-page/")
