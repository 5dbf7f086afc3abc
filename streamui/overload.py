"""Overload: a new stream is refused at once past `MAX_STREAMS_PER_PROCESS` running streams,
or while the process paces the running ones more than `OVERLOAD_LAG_MS` late.

Refusing before any database work or upstream request keeps the streams already
running at their pace and gives the newcomer a clear "busy, try again" instead of a
place in a queue whose first reveal comes half a minute later. The count needs tuning
to the machine; the lag does not: it is what the users of the running streams would
see (a pacing clock that fires 150 ms late is a 150 ms stall in every answer).
"""

from __future__ import annotations

from .conf import get_settings
from .hub import StreamHub
from .pacing import running_lag
from .protocol import ProtocolError

BUSY = "The server is busy: try again in a moment."


def running_streams(hub: StreamHub) -> int:
    """Streams this process is generating now (finished ones kept for resume do not count)."""
    return sum(1 for live in hub.streams.values() if not live.ended.is_set())


def refuse_when_busy(hub: StreamHub) -> None:
    """Raise the "busy" ProtocolError when this process already runs its most streams."""
    config = get_settings()
    limit = config.max_streams_per_process
    if limit and running_streams(hub) >= limit:
        raise ProtocolError(BUSY)
    lag_ms = float(config.overload_lag_ms)
    if lag_ms and running_lag() * 1000 > lag_ms:
        raise ProtocolError(BUSY)


__all__ = ["BUSY", "refuse_when_busy", "running_streams"]
