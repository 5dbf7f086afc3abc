"""ChatConsumer through Channels' WebsocketCommunicator, upstream = fake LLM over real HTTP."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import override_settings

from streamui.hub import get_hub
from streamui.models import ChatMessage, Conversation, StreamRecord
from streamui.rendering import markdown_html
from streamui.routing import websocket_urlpatterns
from streamui.testing.fake_server import FakeLLMServer
from tools.loadgen.oob_dom import Page, parse_html
from tools.loadgen.wire_reader import decode, note_send

pytestmark = pytest.mark.django_db(transaction=True)

WIDGET = "su-wtest1"
ENDED = r'data-state="(done|stopped|interrupted)"'
TEXT_FRAME = r'-out-(?:tail|blocks)" hx-swap-oob='


@pytest.fixture
def upstream_settings(fake_llm: FakeLLMServer) -> Any:
    with override_settings(STREAMUI={"UPSTREAM_URL": fake_llm.base_url, "UPSTREAM_MODEL": "steady",
                                     "SIMULATED_SPEED": 20.0, "MAX_TOKENS": 60, "MAX_PROMPT_CHARS": 500,
                                     "DISCONNECT_GRACE": 0.0}):
        yield fake_llm


async def connect(session_key: str) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/streamui/chat/{WIDGET}/")
    comm.scope["session"] = SessionStore(session_key)
    comm.scope["user"] = AnonymousUser()
    connected, _ = await comm.connect()
    assert connected
    return comm


async def send(comm: WebsocketCommunicator, **values: Any) -> None:
    # What htmx's ws extension sends: the form values plus a headers object.
    if values.get("action", "send") == "send":
        note_send(comm, str(values.get("prompt", "")))  # the turn frame leaves out the prompt the widget sent
    await comm.send_to(text_data=json.dumps({**values, "headers": {"HX-Request": "true"}}))


async def receive(comm: WebsocketCommunicator, timeout: float = 5) -> str:
    """One frame's HTML: every frame is JSON with `content` (journal frames add seq and stream)."""
    frame = await comm.receive_from(timeout=timeout)
    return str(decode(frame, comm)["content"])


async def frames_until(comm: WebsocketCommunicator, pattern: str, timeout: float = 10) -> list[str]:
    frames: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = await receive(comm, timeout=max(0.01, deadline - time.monotonic()))
        frames.append(frame)
        if re.search(pattern, frame):
            return frames
    raise AssertionError(f"no frame matched {pattern!r}; got {frames[-3:]}")


def widget_page() -> Page:
    return Page(html=str(render_widget_shell()))


def render_widget_shell() -> str:
    ids = ("log", "status", "error", "figures")
    return "".join(f'<div id="{WIDGET}-{name}"></div>' for name in ids) + f'<input id="{WIDGET}-conversation">'


def shown(frames: list[str]) -> tuple[Page, str]:
    """Apply the frames as htmx would; the text of the last answer's output."""
    page = widget_page()
    for frame in frames:
        page.apply_frame(frame)
    outputs = [e for e in page.body.walk() if e.attrs.get("data-streamui") == "output"]
    return page, outputs[-1].text() if outputs else ""


def appended_text(frames: list[str]) -> str:
    return shown(frames)[1]


def normalized(text: str) -> str:
    return " ".join(text.split())


def as_shown(markdown: str) -> str:
    """What the stored answer looks like once rendered, for comparing with the page."""
    return normalized("".join(n if isinstance(n, str) else n.text() for n in parse_html(markdown_html(markdown))))


async def test_a_prompt_streams_an_answer_and_records_it(upstream_settings: FakeLLMServer, session_key: str) -> None:
    comm = await connect(session_key)
    await send(comm, action="send", prompt="Can a minor sue or be sued?", conversation="")
    frames = await frames_until(comm, ENDED)
    assert 'data-state="streaming"' in frames[1]  # the turn first, then the stream's journal
    text = appended_text(frames)
    assert text.startswith("In general, minors")
    message = await ChatMessage.objects.filter(role="assistant").aget()
    assert as_shown(message.content) == normalized(text)
    # max_tokens (60) cut the answer off: shown and stored as interrupted, never as complete.
    assert message.status == "interrupted" and "cut off" in message.error
    assert 'data-status="interrupted"' in frames[-1]
    record = await StreamRecord.objects.aget()
    assert record.end_reason == "done" and record.error_kind == "length" and record.upstream == "openai"
    assert record.tokens_generated == 60 and record.tokens_generated_source == "usage"
    assert record.tokens_shown > 0 and record.first_visible_token_ms is not None
    assert record.first_upstream_token_ms is not None and record.first_upstream_token_ms <= record.first_visible_token_ms
    assert len(record.arrival_gaps_ms) == 59 and len(record.reveal_gaps_ms) >= 1
    await comm.disconnect()


async def test_stop_cancels_the_upstream_within_100ms(upstream_settings: FakeLLMServer, session_key: str) -> None:
    upstream_settings.speed = 1.0
    comm = await connect(session_key)
    await send(comm, action="send", prompt="Tell me about minors suing", conversation="")
    frames = await frames_until(comm, TEXT_FRAME)
    for _ in range(5):
        frames.append(await receive(comm))
    await send(comm, action="stop")
    frames += await frames_until(comm, r'data-state="stopped"')
    record = await StreamRecord.objects.aget()
    fake = upstream_settings.records[0]
    assert record.end_reason == "stopped" and record.stop_received_at is not None
    assert fake.disconnected_at is not None
    assert fake.disconnected_at - record.stop_received_at < 0.1
    await asyncio.sleep(0.3)
    assert fake.tokens_after_disconnect <= 1
    message = await ChatMessage.objects.filter(role="assistant").aget()
    assert message.status == "stopped" and as_shown(message.content) == normalized(appended_text(frames))
    assert 'data-status="stopped"' in frames[-1]
    await send(comm, action="stop")  # stopping twice is harmless
    assert await comm.receive_nothing(0.2)
    await comm.disconnect()


async def test_a_closed_socket_cancels_the_upstream(upstream_settings: FakeLLMServer, session_key: str) -> None:
    upstream_settings.speed = 1.0
    comm = await connect(session_key)
    await send(comm, action="send", prompt="hello", conversation="")
    await frames_until(comm, TEXT_FRAME)
    await comm.disconnect()
    record = await StreamRecord.objects.aget()
    assert await get_hub().wait_ended(record.stream_id, timeout=5)
    fake = upstream_settings.records[0]
    assert fake.disconnected_at is not None
    await record.arefresh_from_db()
    assert record.end_reason == "disconnected"
    message = await ChatMessage.objects.filter(role="assistant").aget()
    assert message.status == "interrupted"


@pytest.mark.parametrize(
    ("model", "kind"),
    [("steady+http500", "http"), ("steady+drop@10", "dropped"), ("steady+malformed@4", "malformed")],
)
async def test_upstream_failures_keep_the_text_and_mark_it_interrupted(
    upstream_settings: FakeLLMServer, session_key: str, model: str, kind: str
) -> None:
    with override_settings(STREAMUI={"UPSTREAM_URL": upstream_settings.base_url, "UPSTREAM_MODEL": model}):
        comm = await connect(session_key)
        await send(comm, prompt="hi", conversation="")
        frames = await frames_until(comm, r'data-state="interrupted"')
    text = appended_text(frames)
    assert 'data-status="interrupted"' in frames[-1]
    assert "The answer was interrupted" in frames[-1]
    record = await StreamRecord.objects.aget()
    assert record.end_reason == "error" and record.error_kind == kind
    message = await ChatMessage.objects.filter(role="assistant").aget()
    assert message.status == "interrupted" and as_shown(message.content) == normalized(text)
    if kind != "http":
        assert text  # what arrived before the failure is kept
    await comm.disconnect()


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"action": "explode"}', "unknown action"),
        ('{"action": "send", "prompt": "   "}', "Type a message first"),
        ('{"action": "send", "prompt": "' + "x" * 600 + '"}', "the limit is 500"),
        ('{"action": "send", "prompt": {"nested": 1}}', "must be a string"),
        ('{"action": "send", "prompt": "hi", "upstream": "evil"}', "unknown upstream"),
        ('{"action": "send", "prompt": "hi", "strategy": "nope"}', "unknown smoothing strategy"),
    ],
)
async def test_bad_messages_get_an_error_frame_and_the_socket_stays_up(
    upstream_settings: FakeLLMServer, session_key: str, raw: str, error: str
) -> None:
    comm = await connect(session_key)
    await comm.send_to(text_data=raw)
    frame = await receive(comm)
    assert 'data-streamui="error"' in frame and error in frame
    await send(comm, prompt="still there?", conversation="")  # the same socket still works
    await frames_until(comm, ENDED)
    await comm.disconnect()


async def test_oversized_frame_is_rejected(upstream_settings: FakeLLMServer, session_key: str) -> None:
    comm = await connect(session_key)
    await comm.send_to(text_data=json.dumps({"action": "send", "prompt": "x" * 70_000}))
    frame = await receive(comm)
    assert "message too large" in frame
    await comm.disconnect()


async def test_earlier_turns_go_upstream_and_interrupted_ones_are_marked(
    upstream_settings: FakeLLMServer, session_key: str
) -> None:
    upstream_settings.speed = 1.0
    comm = await connect(session_key)
    await send(comm, prompt="first question", conversation="")
    await frames_until(comm, TEXT_FRAME)
    await send(comm, action="stop")
    await frames_until(comm, r'data-state="stopped"')
    conversation = await Conversation.objects.aget()
    upstream_settings.speed = 20.0
    await send(comm, prompt="second question", conversation=str(conversation.public_id))
    await frames_until(comm, ENDED)
    await comm.disconnect()
    assert await Conversation.objects.acount() == 1
    assert await ChatMessage.objects.acount() == 4
    # The model saw the whole conversation: system prompt, first question, the stopped answer
    # marked as interrupted (never passed off as complete), then the new question.
    sent = upstream_settings.records[1].messages
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == "first question" and sent[3]["content"] == "second question"
    stopped = await ChatMessage.objects.filter(role="assistant", status="stopped").aget()
    assert sent[2]["content"].startswith(stopped.content)
    assert sent[2]["content"].endswith("[This answer was interrupted before it finished.]")


async def test_history_marks_interrupted_answers() -> None:
    from streamui.conversations import ahistory

    conversation = await Conversation.objects.acreate(session_key="k")
    await ChatMessage.objects.acreate(conversation=conversation, role="user", content="Q1")
    await ChatMessage.objects.acreate(conversation=conversation, role="assistant", content="Partial", status="stopped")
    await ChatMessage.objects.acreate(conversation=conversation, role="user", content="Q2")
    await ChatMessage.objects.acreate(conversation=conversation, role="assistant", content="Full", status="complete")
    history = await ahistory(conversation)
    assert [m.role for m in history] == ["user", "assistant", "user", "assistant"]
    assert history[1].content.startswith("Partial") and "interrupted" in history[1].content
    assert history[3].content == "Full"


async def test_model_text_is_escaped(session_key: str) -> None:
    with override_settings(STREAMUI={"UPSTREAM_CALLABLE": "tests.consumer.hostile_upstream.hostile"}):
        comm = await connect(session_key)
        await send(comm, prompt="<img src=x onerror=alert(1)>", conversation="", upstream="custom")
        frames = await frames_until(comm, ENDED)
    html = "".join(frames)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    await comm.disconnect()


async def test_without_a_session_the_widget_is_told_to_reload() -> None:
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/streamui/chat/{WIDGET}/")
    comm.scope["session"] = SessionStore()
    comm.scope["user"] = AnonymousUser()
    connected, _ = await comm.connect()
    assert connected
    assert "reload the page" in await receive(comm)
    await comm.disconnect()


async def test_send_is_answered_with_the_turn_op_and_a_comparison_with_html(
        upstream_settings: FakeLLMServer, session_key: str) -> None:
    comm = await connect(session_key)

    async def raw_frame() -> Any:
        text = await comm.receive_from(timeout=5)
        decode(text, comm)  # the reader keeps its count of seqs
        return json.loads(text)

    await send(comm, action="send", prompt="Can a minor <sue>?", conversation="")
    raw = await raw_frame()
    user = await ChatMessage.objects.filter(role="user").aget()
    answer = await ChatMessage.objects.filter(role="assistant").aget()
    conversation = await sync_to_async(lambda: str(answer.conversation.public_id))()
    # The turn is the widget's template with these ids: no HTML, and not the prompt the widget sent;
    # a first turn names its new conversation.
    assert raw == {"u": [user.pk, answer.pk, None, conversation]}
    first = await raw_frame()
    assert first["s"][:2] == ["streaming", 0] and isinstance(first["stream"], str) and "content" not in first
    await frames_until(comm, ENDED)
    # Two lanes are not the template's one: that turn goes as HTML.
    await send(comm, action="send", prompt="again", conversation=conversation, compare="passthrough")
    raw = await raw_frame()
    assert "u" not in raw and 'data-lanes="2"' in raw["content"]
    await comm.disconnect()


async def test_live_figures_go_only_to_a_page_that_shows_them(
        upstream_settings: FakeLLMServer, session_key: str) -> None:
    """The drop-in widget shows no figures, so its frames carry none; the playground's form asks for them."""

    async def raw_frames(**values: Any) -> list[Any]:
        comm = await connect(session_key)
        await send(comm, action="send", prompt="Can a minor sue or be sued?", conversation="", **values)
        frames: list[Any] = []
        while not frames or not re.search(ENDED, str(decode(frames[-1][0], comm)["content"])):
            text = await comm.receive_from(timeout=10)
            frames.append((text, text.startswith("{") and json.loads(text)))
        await comm.disconnect()
        return [data for _, data in frames if isinstance(data, dict)]

    def with_figures(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [f for f in frames if {"F", "f", "g"} & set(f) or "streamui-figures" in f.get("content", "")]

    assert with_figures(await raw_frames()) == []
    shown = with_figures(await raw_frames(figures="1"))
    assert shown and "F" in shown[0]  # the first figures as the template's values, then changes
