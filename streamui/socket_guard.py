"""What one chat socket may cost: origin, incoming frame rate, outgoing bytes, frame size, log lines.

Plain Python with an injected clock; the consumer applies them.

- Origin (review 1.10): scheme, host and port must match the page's own origin (the Host the
  browser connected to, with the scheme of the connection) or one of ALLOWED_ORIGINS. Host
  names alone let any page on another port or scheme of the same host open the socket.
- Incoming frames (2.6, 2.7): a token bucket per socket; a client past it is disconnected
  before its frames are parsed, so a flood costs neither parsing nor database writes.
- Outgoing bytes (2.8): a client that keeps asking for replays it never reads fills the
  server's send buffer; past a byte budget per window the socket is closed (it can resume).
- Frame size (4.10): a frame over the WebSocket message limit kills the connection; frames
  are split between top-level fragments, each part a valid frame.
- Log lines (2.15): at most a few per socket per interval, then one summary.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

Clock = Callable[[], float]
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(origin: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/") \
            or parts.username or parts.password or parts.query or parts.fragment:
        return None
    return parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


def origin_allowed(origin: str | None, *, scheme: str, host: str, allowed: Iterable[str] = ()) -> bool:
    """`scheme`/`host`: how the browser reached us (ws/wss and the Host header, port included)."""
    if not origin:
        return False
    theirs = normalise_origin(origin)
    if theirs is None:
        return False
    page_scheme = "https" if scheme in ("wss", "https") else "http"
    ours = normalise_origin(f"{page_scheme}://{host}")
    candidates = [o for o in (normalise_origin(a) for a in allowed) if o is not None]
    if ours is not None:
        candidates.append(ours)
    return theirs in candidates


class TokenBucket:
    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens, self._at = burst, clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class ByteWindow:
    """Bytes sent in the last `window` seconds, against a budget.

    Counted in `slices` fixed slices of the window with a running total: `add` runs on every
    frame of every socket, so it must not walk the window's history (issue 9's profile found
    a per-frame list rebuild at 5% of the server's CPU)."""

    def __init__(self, budget: int, window: float = 10.0, clock: Clock = time.monotonic, *, slices: int = 10) -> None:
        self.budget, self.window, self._clock = budget, window, clock
        self._width = window / slices
        self._slices: deque[list[float]] = deque()  # [slice start, bytes], oldest first
        self._total = 0

    def add(self, size: int) -> bool:
        """Count `size` bytes; False once the window holds more than the budget."""
        now = self._clock()
        slices = self._slices
        while slices and now - slices[0][0] >= self.window:
            self._total -= int(slices.popleft()[1])
        if slices and now - slices[-1][0] < self._width:
            slices[-1][1] += size
        else:
            slices.append([now, float(size)])
        self._total += size
        return self._total <= self.budget


class LogLimiter:
    def __init__(self, per_interval: int = 5, interval: float = 10.0, clock: Clock = time.monotonic) -> None:
        self.per_interval, self.interval, self._clock = per_interval, interval, clock
        self._start, self._count, self.suppressed = clock(), 0, 0

    def allow(self) -> bool:
        now = self._clock()
        if now - self._start >= self.interval:
            self._start, self._count = now, 0
        self._count += 1
        if self._count > self.per_interval:
            self.suppressed += 1
            return False
        return True


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def split_fragments(html: str, limit: int) -> list[str]:
    """`html` cut between top-level elements into parts of at most `limit` UTF-8 bytes where
    possible (one element larger than `limit` stays whole: the caller decides)."""
    if len(html.encode("utf-8")) <= limit:
        return [html]
    starts = _top_level_starts(html)
    pieces = [html[a:b] for a, b in zip(starts, [*starts[1:], len(html)], strict=True)] or [html]
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for piece in pieces:
        n = len(piece.encode("utf-8"))
        if current and size + n > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(piece)
        size += n
    if current:
        parts.append("".join(current))
    return parts


def _top_level_starts(html: str) -> list[int]:
    """Offsets where top-level elements start (a tiny depth-tracking scan over the tags)."""
    starts: list[int] = []
    depth = 0
    i = 0
    n = len(html)
    while i < n:
        j = html.find("<", i)
        if j < 0:
            break
        k = html.find(">", j)
        if k < 0:
            break
        tag = html[j + 1:k]
        name = tag.lstrip("/").split(None, 1)[0].lower() if tag.strip("/ ") else ""
        if tag.startswith("/"):
            depth = max(0, depth - 1)
        elif tag.startswith("!"):
            pass
        else:
            if depth == 0:
                starts.append(j)
            if name not in _VOID and not tag.endswith("/"):
                depth += 1
        i = k + 1
    return starts or [0]


__all__ = ["ByteWindow", "LogLimiter", "TokenBucket", "normalise_origin", "origin_allowed", "split_fragments"]
