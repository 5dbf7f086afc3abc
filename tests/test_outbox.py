"""The outbox: frames to the journal in order, through the sender or, for a journal that takes one at
once, directly (issue 9: no task step per frame)."""

from __future__ import annotations

import asyncio

from streamui.outbox import Frame, Outbox


async def test_frames_put_before_the_sender_runs_go_out_as_one_in_order() -> None:
    sent: list[Frame] = []

    async def sink(frame: Frame) -> None:
        sent.append(frame)

    outbox = Outbox(sink)
    outbox.put_frame(Frame("<a>", {"x": "1"}))
    outbox.put_frame(Frame("<b>", {"x": "2"}))
    outbox.close()
    await outbox.run()
    assert sent == [Frame("<a><b>", {"x": "2"})]


async def test_a_direct_sink_takes_each_frame_at_once_and_the_sender_only_waits_for_close() -> None:
    direct: list[Frame] = []

    async def sink(frame: Frame) -> None:
        raise AssertionError("the awaiting sink is not used when a direct one is given")

    outbox = Outbox(sink, direct.append)
    sender = asyncio.create_task(outbox.run())
    outbox.put_frame(Frame("<a>"))
    outbox.put_frame(Frame(""))  # nothing to journal
    outbox.put_frame(Frame("", {"x": "1"}))
    assert direct == [Frame("<a>"), Frame("", {"x": "1"})]  # before the sender had a turn
    await asyncio.sleep(0)
    assert not sender.done()
    outbox.close()
    await asyncio.wait_for(sender, 1)
