"""What Redis holds during and after a load run: used memory over time, and the journals' keys.

- used memory: INFO memory's `used_memory` (what the allocator gave Redis' data and
  buffers, client buffers included), sampled while the clients run; idle is the value
  just before the sockets open. Per live stream: (peak - idle) / peak concurrent streams.
- journal keys: the load run's streams' `streamui:journal:<id>` keys after the run, MEMORY USAGE with
  SAMPLES 0 (the whole stream counted, not an estimate) and XLEN, mean per key.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streamui.journal_redis import RedisJournal

SAMPLE_INTERVAL = 0.25


def _client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=5)


def used_memory(url: str) -> int:
    return int(_client(url).info("memory")["used_memory"])


class MemorySampler(threading.Thread):
    """Peak `used_memory` of a Redis, sampled until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self._redis = _client(url)
        self.idle = int(self._redis.info("memory")["used_memory"])
        self.peak = self.idle
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.peak = max(self.peak, int(self._redis.info("memory")["used_memory"]))
            except Exception:  # Redis gone: the run reports its own failure
                return
            self._stop_event.wait(SAMPLE_INTERVAL)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak


@dataclass(frozen=True, slots=True)
class JournalKeys:
    keys: int
    bytes_mean: float | None
    entries_mean: float | None


def journal_keys(url: str, stream_ids: Iterable[str]) -> JournalKeys:
    """MEMORY USAGE and XLEN of these streams' journal keys (those still there)."""
    client = _client(url)
    sizes: list[int] = []
    lengths: list[int] = []
    for stream_id in stream_ids:
        key = RedisJournal.key(stream_id)
        usage = client.memory_usage(key, samples=0)
        if usage is None:  # expired between SCAN and MEMORY USAGE
            continue
        sizes.append(int(usage))
        lengths.append(int(client.xlen(key)))
    if not sizes:
        return JournalKeys(0, None, None)
    return JournalKeys(len(sizes), round(sum(sizes) / len(sizes), 1), round(sum(lengths) / len(lengths), 1))


__all__ = ["JournalKeys", "MemorySampler", "journal_keys", "used_memory"]
