"""Every stream shape in the corpus, replayed byte-exact over real HTTP, whole and split, ends right."""

from __future__ import annotations

import pytest

from streamui.upstream.base import ChatRequest, Message
from streamui.upstream.outcome import Transcript
from tests.support.replay_server import ReplayServer, Reply

from .corpus import Shape, adapter, load, mismatches

# Whole; then pieces of 1-7 bytes (events, CRLFs and UTF-8 characters split across reads); then 61.
SPLITS = {"whole": None, "few-bytes": (1, 2, 3, 5, 7), "61": (61,)}
REQUEST = ChatRequest(messages=[Message("system", "Be brief."), Message("user", "Hi")], max_tokens=64)


async def replay(shape: Shape, split: tuple[int, ...] | None) -> tuple[Transcript, ReplayServer]:
    meta = shape.meta
    async with ReplayServer() as server:
        server.replies.append(Reply(shape.body, meta["status"], meta["content_type"], split))
        seen = Transcript()
        async for event in adapter(shape, server.base_url).stream(REQUEST):
            assert not seen.finished, f"an event after the end: {event!r}"
            seen.add(event)
    return seen, server


def cases(split: str) -> list[object]:
    return [pytest.param(shape, how, id=f"{shape.name}-{how}") for shape in load(split) for how in SPLITS]


@pytest.mark.parametrize(("shape", "how"), cases("tuning"))
async def test_tuning_shape(shape: Shape, how: str) -> None:
    seen, _ = await replay(shape, SPLITS[how])
    assert not mismatches(shape, seen), f"{shape.name} ({shape.meta['source']})"


@pytest.mark.parametrize(("shape", "how"), cases("heldout"))
async def test_heldout_shape(shape: Shape, how: str) -> None:
    seen, _ = await replay(shape, SPLITS[how])
    assert not mismatches(shape, seen), f"{shape.name} ({shape.meta['source']})"


def test_every_shape_names_its_source() -> None:
    for split in ("tuning", "heldout"):
        for shape in load(split):
            for key in ("provider", "source", "demonstrates", "framing", "expect"):
                assert shape.meta.get(key), f"{split}/{shape.name}: no {key}"
            assert shape.expect["state"] in ("complete", "cut_off", "refused", "interrupted")
