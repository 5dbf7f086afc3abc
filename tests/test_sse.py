"""The SSE transport through Django's async test client: headers, events, resume, CSRF, ownership."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import AsyncClient, override_settings

from streamui.hub import get_hub
from streamui.models import StreamRecord
from streamui.sse import format_event

pytestmark = pytest.mark.django_db(transaction=True)

FAST = {"STREAMUI": {"SIMULATED_SPEED": 20.0, "MAX_TOKENS": 80}}
WIDGET = "su-wsse1"


async def session_client(enforce_csrf: bool = False) -> AsyncClient:
    client = AsyncClient(enforce_csrf_checks=enforce_csrf)
    await client.get("/")  # a session, as a visitor gets from the page
    return client


async def start(client: AsyncClient, **extra: str) -> str:
    response = await client.post(f"/streamui/send/{WIDGET}/", {"prompt": "Can a minor sue or be sued?",
                                                                 "upstream": "simulated:steady", **extra})
    assert response.status_code == 200, response.content
    html = response.content.decode()
    assert f'id="{WIDGET}-log"' in html and "hx-sse:connect=" in html
    return re.search(r'data-stream="([^"]+)"', html).group(1)  # type: ignore[union-attr]


async def read_events(response: Any) -> list[tuple[int, str]]:
    events: list[tuple[int, str]] = []
    buffer = ""
    async for chunk in response.streaming_content:
        buffer += chunk.decode()
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            lines = block.split("\n")
            ids = [line[4:] for line in lines if line.startswith("id: ")]
            data = "\n".join(line[6:] for line in lines if line.startswith("data: "))
            if ids:
                events.append((int(ids[0]), data))
    return events


async def test_events_stream_with_ids_and_the_headers_proxies_need() -> None:
    with override_settings(**FAST):
        client = await session_client()
        stream_id = await start(client)
        response = await client.get(f"/streamui/sse/{stream_id}/?widget={WIDGET}", headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        assert response["Cache-Control"] == "no-cache" and response["X-Accel-Buffering"] == "no"
        assert response.get("Content-Encoding", "") == ""  # GZipMiddleware left it alone
        events = await read_events(response)
    assert [seq for seq, _ in events] == list(range(1, len(events) + 1))
    assert 'data-state="streaming"' in events[0][1] and 'data-state="interrupted"' in events[-1][1]
    assert any("su-m" in data and "-out-" in data for _, data in events)


async def test_live_figures_only_when_the_form_asks_for_them() -> None:
    async def events_of(**extra: str) -> list[tuple[int, str]]:
        client = await session_client()
        stream_id = await start(client, **extra)
        return await read_events(await client.get(f"/streamui/sse/{stream_id}/?widget={WIDGET}"))

    with override_settings(**FAST):
        plain, with_figures = await events_of(), await events_of(figures="1")
    assert not any("streamui-figures" in data for _, data in plain)
    assert any("streamui-figures" in data for _, data in with_figures)


async def test_last_event_id_resumes_after_it() -> None:
    with override_settings(**FAST):
        client = await session_client()
        stream_id = await start(client)
        assert await get_hub().wait_ended(stream_id, timeout=10)
        response = await client.get(f"/streamui/sse/{stream_id}/?widget={WIDGET}", headers={"Last-Event-ID": "3"})
        events = await read_events(response)
    assert events[0][0] == 4


async def test_another_session_gets_404_and_cannot_stop() -> None:
    with override_settings(**FAST):
        owner = await session_client()
        stream_id = await start(owner)
        stranger = await session_client()
        assert (await stranger.get(f"/streamui/sse/{stream_id}/?widget={WIDGET}")).status_code == 404
        assert (await stranger.post("/streamui/stop/", {"stream": stream_id})).status_code == 404
        assert (await owner.post("/streamui/stop/", {"stream": stream_id})).status_code == 204
        assert await get_hub().wait_ended(stream_id, timeout=10)
    record = await StreamRecord.objects.aget(stream_id=stream_id)
    assert record.end_reason in ("stopped", "done")


async def test_posts_need_the_csrf_token() -> None:
    client = await session_client(enforce_csrf=True)
    response = await client.post(f"/streamui/send/{WIDGET}/", {"prompt": "hi"})
    assert response.status_code == 403
    assert (await client.post("/streamui/stop/", {"stream": "x"})).status_code == 403


async def test_bad_input_is_a_422_error_fragment() -> None:
    client = await session_client()
    empty = await client.post(f"/streamui/send/{WIDGET}/", {"prompt": "  "})
    assert empty.status_code == 422 and "Type a message first" in empty.content.decode()
    assert f'id="{WIDGET}-error"' in empty.content.decode()
    too_long = await client.post(f"/streamui/send/{WIDGET}/", {"prompt": "x" * 9000})
    assert too_long.status_code == 422 and "the limit is 8000" in too_long.content.decode()
    assert (await client.post("/streamui/send/not-a-widget/", {"prompt": "hi"})).status_code == 422
    assert (await client.get("/streamui/sse/x/?widget=bad")).status_code == 400


def test_event_format_splits_lines() -> None:
    assert format_event(7, "<a>\n<b>") == b"id: 7\ndata: <a>\ndata: <b>\n\n"
