"""A refusal and a filtered answer, replayed byte-exact from real providers through the consumer, end as
what they are: the user reads the refusal or "cut off", never an empty or a complete answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import override_settings

from streamui.models import ChatMessage, StreamRecord
from tests.support.replay_server import ReplayServer, Reply

from .test_consumer import ENDED, connect, frames_until, send

pytestmark = pytest.mark.django_db(transaction=True)

SHAPES = Path(__file__).resolve().parents[1] / "upstream" / "shapes" / "tuning"


async def replayed(session_key: str, shape: str) -> tuple[list[str], ChatMessage, StreamRecord]:
    meta = json.loads((SHAPES / f"{shape}.json").read_text())
    async with ReplayServer() as server:
        server.replies.append(Reply((SHAPES / f"{shape}.sse").read_bytes(), content_type=meta["content_type"]))
        with override_settings(STREAMUI={"UPSTREAM_URL": server.base_url, "UPSTREAM_MODEL": "m",
                                         "DISCONNECT_GRACE": 0.0}):
            comm = await connect(session_key)
            await send(comm, action="send", prompt="Tell me something.", conversation="")
            frames = await frames_until(comm, ENDED, timeout=15)
            await comm.disconnect()
    message = await ChatMessage.objects.filter(role="assistant").aget()
    return frames, message, await StreamRecord.objects.aget()


async def test_an_openai_refusal_is_shown_as_a_refusal(session_key: str) -> None:
    frames, message, record = await replayed(session_key, "openai-refusal")
    assert message.status == ChatMessage.Status.INTERRUPTED
    assert message.error == "The model declined to answer: I'm sorry, I can't assist with that request."
    assert record.error_kind == "refused"
    assert "declined to answer" in frames[-1] and 'data-status="interrupted"' in frames[-1]


async def test_a_content_filter_end_is_cut_off_not_complete(session_key: str) -> None:
    frames, message, record = await replayed(session_key, "azure-content-filter")
    assert message.status == ChatMessage.Status.INTERRUPTED and "content filter" in message.error
    assert record.error_kind == "content_filter"
    assert "content filter" in frames[-1]
