"""Streams outlive sockets: resume after a drop or a refresh, the grace period, Stop from any tab, limits."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore
from django.test import override_settings
from django.utils import timezone

from streamui.hub import get_hub
from streamui.models import ChatMessage, Conversation, StreamRecord
from streamui.testing.fake_server import FakeLLMServer
from tools.loadgen.wire_reader import decode

from .test_consumer import as_shown, connect, normalized, receive, send, shown

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slow_upstream(fake_llm: FakeLLMServer) -> Any:
    fake_llm.speed = 1.0
    with override_settings(STREAMUI={"UPSTREAM_URL": fake_llm.base_url, "UPSTREAM_MODEL": "steady",
                                     "MAX_TOKENS": 120, "DISCONNECT_GRACE": 5.0}):
        yield fake_llm


async def journal_frames(comm: WebsocketCommunicator, until: str, timeout: float = 15) -> list[dict[str, Any]]:
    """Raw journal frames ({"content", "seq", "stream"}) until one matches."""
    frames: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        raw = await comm.receive_from(timeout=deadline - loop.time())
        frame = decode(raw, comm)
        if "seq" in frame:
            frames.append(frame)
            if until in frames[-1]["content"]:
                return frames
    raise AssertionError(f"no frame with {until!r}")


async def start(comm: WebsocketCommunicator) -> tuple[str, list[dict[str, Any]]]:
    await send(comm, prompt="Can a minor sue or be sued?", conversation="")
    await receive(comm)  # the new turn
    frames = await journal_frames(comm, "-out-")
    return frames[0]["stream"], frames


async def test_a_dropped_socket_resumes_without_losing_or_duplicating(slow_upstream: FakeLLMServer,
                                                                     session_key: str) -> None:
    first = await connect(session_key)
    stream_id, frames = await start(first)
    frames += await journal_frames(first, "-out-")
    await first.disconnect()  # the socket drops mid-stream
    await asyncio.sleep(0.5)
    second = await connect(session_key)
    await send(second, action="resume", stream=stream_id, after=frames[-1]["seq"])
    rest = await journal_frames(second, 'data-state="interrupted"')
    await second.disconnect()
    seqs = [f["seq"] for f in frames + rest]
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate
    message = await ChatMessage.objects.filter(role="assistant").aget()
    record = await StreamRecord.objects.aget()
    assert record.end_reason == "done"  # it kept generating while the socket was away
    assert slow_upstream.records[0].disconnected_at is None
    html = [f["content"] for f in frames + rest]
    _page, text = shown([_turn_shell(message.pk), *html])
    assert normalized(text) == as_shown(message.content)


def _turn_shell(message_id: int) -> str:
    from streamui import fragments

    return str(fragments.append_to_log("su-wtest1", fragments.assistant_turn(message_id)))


async def test_a_refresh_replays_from_the_start(slow_upstream: FakeLLMServer, session_key: str) -> None:
    first = await connect(session_key)
    stream_id, _frames = await start(first)
    await first.disconnect()
    second = await connect(session_key)
    await send(second, action="resume", stream=stream_id, after=0)
    replay = await journal_frames(second, 'data-state="interrupted"')
    await second.disconnect()
    assert replay[0]["seq"] == 1 and 'data-state="streaming"' in replay[0]["content"]
    assert [f["seq"] for f in replay] == list(range(1, len(replay) + 1))


async def test_the_grace_period_then_cancels_upstream(fake_llm: FakeLLMServer, session_key: str) -> None:
    fake_llm.speed = 1.0
    with override_settings(STREAMUI={"UPSTREAM_URL": fake_llm.base_url, "UPSTREAM_MODEL": "steady",
                                     "MAX_TOKENS": 400, "DISCONNECT_GRACE": 0.6}):
        comm = await connect(session_key)
        stream_id, _ = await start(comm)
        await comm.disconnect()
        await asyncio.sleep(0.3)
        assert fake_llm.records[0].disconnected_at is None  # still generating within the grace period
        assert await get_hub().wait_ended(stream_id, timeout=5)
    record = await StreamRecord.objects.aget()
    assert record.end_reason == "disconnected"
    assert fake_llm.records[0].disconnected_at is not None
    assert fake_llm.records[0].tokens_after_disconnect <= 1
    # The reload says why it stopped, and offers Retry like any other interruption.
    message = await ChatMessage.objects.filter(role="assistant").aget()
    assert message.status == "interrupted" and "no one was watching it for 0.6 s" in message.error
    comm = await connect(session_key)
    await send(comm, action="resume", stream=stream_id, after="0")
    replay = await journal_frames(comm, until='data-state="interrupted"')
    await comm.disconnect()
    assert 'data-streamui="retry"' in replay[-1]["content"]


async def test_stop_from_another_tab(slow_upstream: FakeLLMServer, session_key: str) -> None:
    tab_a = await connect(session_key)
    stream_id, _ = await start(tab_a)
    tab_b = await connect(session_key)
    await send(tab_b, action="stop", stream=stream_id)
    await journal_frames(tab_a, 'data-state="stopped"')
    await send(tab_b, action="stop", stream=stream_id)  # twice: harmless
    assert await tab_b.receive_nothing(0.3)
    await tab_a.disconnect()
    await tab_b.disconnect()
    record = await StreamRecord.objects.aget()
    assert record.end_reason == "stopped" and slow_upstream.records[0].disconnected_at is not None


async def test_another_session_cannot_read_resume_or_stop(slow_upstream: FakeLLMServer, session_key: str) -> None:
    owner = await connect(session_key)
    stream_id, _ = await start(owner)
    stranger_session = SessionStore()
    await stranger_session.asave()
    stranger = await connect(str(stranger_session.session_key))
    for action in ("resume", "stop"):
        await send(stranger, action=action, stream=stream_id, after=0)
        assert "unknown stream" in await receive(stranger)
    await send(owner, action="stop")
    await journal_frames(owner, 'data-state="stopped"')
    await owner.disconnect()
    await stranger.disconnect()


async def test_a_stream_whose_worker_died_is_marked_interrupted(session_key: str) -> None:
    conversation = await Conversation.objects.acreate(session_key=session_key)
    message = await ChatMessage.objects.acreate(conversation=conversation, role="assistant", status="streaming",
                                                content="")
    await StreamRecord.objects.acreate(stream_id="gone123", conversation=conversation, message=message,
                                       session_key=session_key, upstream="openai", started_at=timezone.now())
    comm = await connect(session_key)
    await send(comm, action="resume", stream="gone123", after=0)
    frame = await receive(comm)
    await comm.disconnect()
    assert 'data-state="interrupted"' in frame and "restarted" in frame
    await message.arefresh_from_db()
    assert message.status == "interrupted"


async def test_concurrent_streams_and_start_rate_are_capped(slow_upstream: FakeLLMServer, session_key: str) -> None:
    with override_settings(STREAMUI={"UPSTREAM_URL": slow_upstream.base_url, "UPSTREAM_MODEL": "steady",
                                     "MAX_TOKENS": 400, "MAX_CONCURRENT_STREAMS": 1, "MAX_STARTS_PER_MINUTE": 2}):
        tab_a = await connect(session_key)
        _stream_id, _ = await start(tab_a)
        tab_b = await connect(session_key)
        await send(tab_b, prompt="another one", conversation="")
        assert "Too many answers are streaming at once" in await receive(tab_b)
        await send(tab_a, action="stop")
        await journal_frames(tab_a, 'data-state="stopped"')
        await asyncio.sleep(0.1)
        await send(tab_b, prompt="now it fits", conversation="")
        await receive(tab_b)
        await send(tab_b, action="stop")
        await journal_frames(tab_b, 'data-state="stopped"')
        await send(tab_b, prompt="a third start within the minute", conversation="")
        assert "Too many messages in a minute" in await receive(tab_b)
        await tab_a.disconnect()
        await tab_b.disconnect()


async def test_a_finished_stream_is_kept_as_its_answer_and_a_late_resume_shows_it_whole(
        slow_upstream: FakeLLMServer, session_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9: a finished stream keeps one snapshot entry (not every frame) and no generation state;
    a socket that dropped mid-stream and comes back after the end still gets the whole answer."""
    monkeypatch.setattr(get_hub(), "compact_after", 0.1)
    first = await connect(session_key)
    stream_id, frames = await start(first)
    await first.disconnect()
    assert await get_hub().wait_ended(stream_id, timeout=15)
    await asyncio.sleep(0.5)  # compact_after
    live = get_hub().streams[stream_id]
    assert live.generation is None and live.checkpoint is None
    kept = await get_hub().replay(stream_id)
    assert len(kept) == 1 and kept[0].whole and kept[0].final
    second = await connect(session_key)
    await send(second, action="resume", stream=stream_id, after=frames[-1]["seq"])
    rest = await journal_frames(second, 'data-state="interrupted"')
    await second.disconnect()
    assert len(rest) == 1 and "is no longer in the live journal" not in rest[0]["content"]
    message = await ChatMessage.objects.filter(role="assistant").aget()
    page, text = shown([_turn_shell(message.pk), *(f["content"] for f in frames + rest)])
    assert normalized(text) == as_shown(message.content)
    assert page.find(f"su-m{message.pk}") is not None  # swapped over the streamed answer (ids stay unique)
