"""Admission of new streams: a slot per stream, taken atomically before anything awaits.

Review 2.10: the old check counted the hub's streams, then awaited several database writes
before the stream was registered, so 40 sends at once all passed a limit of 3. Here a slot is
taken in one step (no await between the count and the take in one process; one Lua script
across processes with Redis) and given back when the stream ends or its start fails.

Review 2.11: a session costs one GET, so slots are also counted per client address.

With Redis each holder is a member of a sorted set scored by its lease deadline; the owning
worker renews it with the stream's lease, so a worker that dies leaks no slot for longer
than one lease.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_TAKE = """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then return i end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + tonumber(ARGV[2]), ARGV[2 + #KEYS + 1])
  redis.call('PEXPIRE', key, math.floor(tonumber(ARGV[2]) * 1000) + 1000)
end
return 0
"""


class AdmissionRefused(Exception):
    def __init__(self, scope: str) -> None:
        super().__init__(scope)
        self.scope = scope  # "owner" or "address"


@dataclass(frozen=True, slots=True)
class Slot:
    holder: str  # the stream id
    keys: tuple[str, ...]


@dataclass(slots=True)
class LocalAdmission:
    """One process: a dict of holders per key, checked and taken without awaiting."""

    _held: dict[str, set[str]] = field(default_factory=dict)

    def take(self, holder: str, limits: Sequence[tuple[str, str, int]]) -> Slot:
        """`limits`: (scope, key, max) triples; all or nothing."""
        for scope, key, limit in limits:
            if len(self._held.get(key, ())) >= limit:
                raise AdmissionRefused(scope)
        for _scope, key, _limit in limits:
            self._held.setdefault(key, set()).add(holder)
        return Slot(holder, tuple(key for _s, key, _l in limits))

    def release(self, slot: Slot) -> None:
        for key in slot.keys:
            holders = self._held.get(key)
            if holders is not None:
                holders.discard(slot.holder)
                if not holders:
                    del self._held[key]

    def held(self, key: str) -> int:
        return len(self._held.get(key, ()))


class RedisAdmission:
    """Across processes: the same slots in Redis sorted sets, taken by one script."""

    def __init__(self, redis: Any, *, lease: float) -> None:
        self._redis = redis
        self.lease = lease
        self._script = redis.register_script(_TAKE)

    @staticmethod
    def _key(key: str) -> str:
        return f"streamui:admission:{key}"

    async def take(self, holder: str, limits: Sequence[tuple[str, str, int]]) -> Slot:
        keys = [self._key(k) for _s, k, _l in limits]
        refused = int(await self._script(keys=keys, args=[time.time(), self.lease,
                                                          *(limit for _s, _k, limit in limits), holder]))
        if refused:
            raise AdmissionRefused(limits[refused - 1][0])
        return Slot(holder, tuple(keys))

    async def renew(self, slot: Slot) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in slot.keys:
                pipe.zadd(key, {slot.holder: time.time() + self.lease}, xx=True)
            await pipe.execute()

    async def release(self, slot: Slot) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in slot.keys:
                pipe.zrem(key, slot.holder)
            await pipe.execute()


__all__ = ["AdmissionRefused", "LocalAdmission", "RedisAdmission", "Slot"]
