"""The grace clock: a stream nobody watches is cancelled after the grace period.

A closed tab or a dropped socket leaves a stream with no follower. The user may come
back (a refresh, a reconnect), so the model runs on for the grace period; then the
upstream request is cancelled and the bill stops. Followers on other workers count
through their leases (renewed by their worker): a follower whose worker died stops
counting after one lease (review 5.8), and the clock looks again when the last lease
would run out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .hub_stream import Cancel, LiveStream

logger = logging.getLogger("streamui.hub")


class GraceClock:
    def __init__(self, grace: Callable[[], float], cancel: Cancel) -> None:
        self._grace = grace  # read at each use: a setting that may change (tests override it)
        self._cancel = cancel

    def start(self, live: LiveStream, minimum: float = 0.0) -> None:
        """Nobody here follows `live` (or may not): cancel it after the grace, unless someone comes."""
        if live.followers and not live.local_followers:
            self._watch_leases(live)  # followed only from other workers: watch their leases
            return
        if live.followers or live.ended.is_set() or live.grace_timer is not None:
            return
        grace = max(self._grace(), minimum)
        logger.info("stream %s: no client attached, cancelling in %.1f s unless one comes back",
                    live.stream_id, grace)
        live.grace_timer = asyncio.get_running_loop().call_later(grace, self._expired, live)

    def stop(self, live: LiveStream) -> None:
        """Someone follows `live` again."""
        if live.grace_timer is not None:
            live.grace_timer.cancel()
            live.grace_timer = None

    def remote_attached(self, live: LiveStream) -> None:
        """A follower on another worker renewed its lease."""
        self.stop(live)
        self._watch_leases(live)

    def remote_detached(self, live: LiveStream) -> None:
        self.stop(live)
        self.start(live)

    def _expired(self, live: LiveStream) -> None:
        live.grace_timer = None
        if not live.followers:
            self._cancel(live, "disconnected")
        elif live.remote:
            # Followed from elsewhere: look again when their leases would have run out.
            self._watch_leases(live)

    def _watch_leases(self, live: LiveStream) -> None:
        if live.local_followers or live.ended.is_set() or live.grace_timer is not None:
            return
        loop = asyncio.get_running_loop()
        until = max(live.remote.values(), default=0.0) - loop.time()
        live.grace_timer = loop.call_later(max(0.1, until), self._leases_due, live)

    def _leases_due(self, live: LiveStream) -> None:
        live.grace_timer = None
        if not live.followers:
            self.start(live)
        else:
            self._watch_leases(live)


__all__ = ["GraceClock"]
