"""The leases of the streams this worker runs: the journal's record of a running stream, and its
admission slot with Redis, expire unless renewed. A follower on another worker can so tell a quiet
stream from one whose worker died (review 4.2), and a dead worker's slots free themselves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from .admission import LocalAdmission, RedisAdmission
from .hub_stream import WORKER_ID, LiveStream
from .journal import Journal

logger = logging.getLogger("streamui.hub")


async def renew_leases(streams: Mapping[str, LiveStream], journal: Journal,
                       admission: LocalAdmission | RedisAdmission, lease: float) -> None:
    """Every third of a lease, for as long as it runs: renew each running stream's."""
    while True:
        await asyncio.sleep(lease / 3)
        for live in list(streams.values()):
            if live.ended.is_set():
                continue
            try:
                meta = await journal.get_meta(live.stream_id) or {}
                await journal.set_meta(live.stream_id, {**meta, "owner": live.owner, "worker": WORKER_ID},
                                       ttl=lease)
                if live.slot is not None and isinstance(admission, RedisAdmission):
                    await admission.renew(live.slot)
            except Exception:
                logger.warning("stream %s: lease renewal failed", live.stream_id, exc_info=True)


__all__ = ["renew_leases"]
