"""Overload: past `MAX_STREAMS_PER_PROCESS` running streams, a new one is refused at once.

Refusing before any database work or upstream request keeps the streams already
running at their pace and gives the newcomer a clear "busy, try again" instead of a
place in a queue whose first reveal comes half a minute later.
"""

from __future__ import annotations

from .conf import get_settings
from .hub import StreamHub
from .protocol import ProtocolError

BUSY = "The server is busy: try again in a moment."


def running_streams(hub: StreamHub) -> int:
    """Streams this process is generating now (finished ones kept for resume do not count)."""
    return sum(1 for live in hub.streams.values() if not live.ended.is_set())


def refuse_when_busy(hub: StreamHub) -> None:
    """Raise the "busy" ProtocolError when this process already runs its most streams."""
    limit = get_settings().max_streams_per_process
    if limit and running_streams(hub) >= limit:
        raise ProtocolError(BUSY)


__all__ = ["BUSY", "refuse_when_busy", "running_streams"]
