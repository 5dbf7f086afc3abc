"""Following a stream: its entries after a sequence number, live, whichever worker runs it.

A follower on the worker that runs the stream counts at once and stops its grace clock. A
follower on another worker counts through a lease: it sends `streamui.attach` on the control
channel every third of a lease, the owning worker keeps the lease in `LiveStream.remote`, and a
follower whose worker died stops counting when it runs out (review 5.8).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
from collections.abc import AsyncIterator, Mapping
from typing import Any

from .hub_control import ControlPlane
from .hub_grace import GraceClock
from .hub_journal import LocalFirstJournal
from .hub_stream import JOURNAL_FAILED, WORKER_ID, Cancel, LiveStream, RenderStored, StreamAccessError
from .journal import Entry

logger = logging.getLogger("streamui.hub")

FAILED_STREAM_WAIT = 10.0  # seconds a follower waits for a stream it cancelled to record its end


class Followers:
    def __init__(self, streams: Mapping[str, LiveStream], journals: LocalFirstJournal, control: ControlPlane,
                 grace_clock: GraceClock, cancel: Cancel, *, lease: float,
                 render_stored: RenderStored | None) -> None:
        self._streams = streams  # the hub's own: the streams this worker runs, as they come and go
        self._journals = journals
        self._control = control
        self._grace_clock = grace_clock
        self._cancel = cancel
        self._lease = lease
        self._render_stored = render_stored

    async def check_owner(self, stream_id: str, owner: str) -> dict[str, str]:
        live = self._streams.get(stream_id)
        if live is not None:
            if live.owner != owner:
                raise StreamAccessError(stream_id)
            return {"owner": owner, "worker": WORKER_ID}
        meta = await self._journals.journal.get_meta(stream_id)
        if meta is None or meta.get("owner") != owner:
            raise StreamAccessError(stream_id)
        return meta

    async def follow(self, stream_id: str, owner: str, after: int = 0) -> AsyncIterator[Entry]:
        """The stream's entries after `after`, live, until its final entry. Counts as attached.

        Ends without a final entry when the owning worker is known dead (its lease expired):
        the transport then records the stream as interrupted (review 4.2). When the journal
        itself fails, a stream this worker runs is cancelled and its final entry comes from
        memory (review 4.4)."""
        await self.check_owner(stream_id, owner)
        token = await self._attach(stream_id)
        heartbeat = None if token is None else asyncio.create_task(self._heartbeat(stream_id, token))
        last = after
        try:
            journal = self._journals.reader(stream_id, runs_here=stream_id in self._streams)
            async for entry in journal.follow(stream_id, after, alive=lambda: self._alive(stream_id)):
                last = entry.seq
                yield await self._resolved(stream_id, entry) if entry.stored else entry
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.error("stream %s: following the journal failed (%r)", stream_id, exc)
            live = self._streams.get(stream_id)
            if live is not None:
                live.failure = live.failure or JOURNAL_FAILED
                self._cancel(live, "error")
                await live.wait_ended(FAILED_STREAM_WAIT)
            final = live.final if live is not None and live.final is not None else None
            yield dataclasses.replace(final, seq=max(final.seq, last + 1)) if final else Entry(
                seq=last + 1, state="interrupted", error=JOURNAL_FAILED,
                retry=live.retry if live is not None else "")
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
            with contextlib.suppress(Exception):
                await self._detach(stream_id, token)

    async def replay(self, stream_id: str, after: int = 0) -> list[Entry]:
        """What the journal still holds after `after`, without waiting (a stream whose worker died)."""
        entries: list[Entry] = []
        async for entry in self._journals.journal.follow(stream_id, after, alive=_dead, wait=False):
            entries.append(await self._resolved(stream_id, entry))
        return entries

    def on_control(self, live: LiveStream, message: dict[str, Any]) -> None:
        """A follower on another worker attached to `live` (or renewed its lease), or detached."""
        token = str(message.get("token", ""))
        if message.get("type") == "streamui.attach":
            live.remote[token] = asyncio.get_running_loop().time() + float(message.get("lease") or self._lease)
            self._grace_clock.remote_attached(live)
        elif message.get("type") == "streamui.detach":
            live.remote.pop(token, None)
            self._grace_clock.remote_detached(live)

    async def _alive(self, stream_id: str) -> bool:
        live = self._streams.get(stream_id)
        if live is not None:
            return True
        return await self._journals.journal.get_meta(stream_id) is not None

    async def _resolved(self, stream_id: str, entry: Entry) -> Entry:
        """A `stored` snapshot with its HTML: the answer rendered from where it is stored."""
        if not entry.stored or self._render_stored is None:
            return entry
        try:
            html = await self._render_stored(stream_id)
        except Exception:
            logger.warning("stream %s: could not render the stored answer", stream_id, exc_info=True)
            html = ""
        return dataclasses.replace(entry, html=html or entry.html, stored=False)

    async def _attach(self, stream_id: str) -> str | None:
        """Count as a follower of the stream: here at once, or elsewhere under a lease (its token)."""
        live = self._streams.get(stream_id)
        if live is not None:
            live.local_followers += 1
            self._grace_clock.stop(live)
            return None
        token = secrets.token_hex(8)
        await self._control.send(stream_id, {"type": "streamui.attach", "token": token, "lease": self._lease})
        return token

    async def _heartbeat(self, stream_id: str, token: str) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            with contextlib.suppress(Exception):
                await self._control.send(stream_id, {"type": "streamui.attach", "token": token, "lease": self._lease})

    async def _detach(self, stream_id: str, token: str | None) -> None:
        live = self._streams.get(stream_id)
        if live is not None and token is None:
            live.local_followers = max(0, live.local_followers - 1)
            self._grace_clock.start(live)
        elif token is not None:
            await self._control.send(stream_id, {"type": "streamui.detach", "token": token})


async def _dead() -> bool:
    return False


__all__ = ["Followers"]
