"""Giving memory back when the process goes idle (review 6.5).

After a burst of streams CPython frees their objects, but glibc's allocator keeps the freed
arenas, so RSS only ever ratchets up to the busiest moment. When the last stream of a burst
is forgotten, a collection and `malloc_trim(0)` hand the free pages back to the OS.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import time
from functools import lru_cache
from typing import Any

MIN_INTERVAL = 5.0  # seconds between two trims: a collection is not free
_last = [float("-inf")]


@lru_cache(maxsize=1)
def _libc() -> Any:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def release_memory(*, now: float | None = None) -> bool:
    """Collect and trim, at most every MIN_INTERVAL seconds; True when it ran."""
    now = time.monotonic() if now is None else now
    if now - _last[0] < MIN_INTERVAL:
        return False
    _last[0] = now
    gc.collect()
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None) if libc is not None else None
    if trim is not None:
        trim(0)
    return True


__all__ = ["release_memory"]
