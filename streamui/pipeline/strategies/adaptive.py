"""`adaptive`: a jitter buffer for text.

Users judge a stream by the pauses they watch. This strategy keeps a cushion of
unrevealed words and spends it during upstream stalls, the way an adaptive VoIP
playout buffer stretches audio when packets are late (WebRTC's NetEq "expand").

The pace, in words per second, is recomputed at every poll:

    flowing:  max(floor, (1 - slack) * arrival_rate + excess / tau)
    stalled:  max(floor, excess / tau)
    excess = words waiting beyond the reserve

- The *reserve* is the number of words that keep text moving at the floor pace
  (one word every `floor_gap`, a brisk reading pace) through a stall of `cover`
  seconds, or through the longest stall seen in this stream if that was longer,
  plus the words that go by while a stall is still indistinguishable from jitter.
- While text flows the pace is a little slower than arrival (`slack`), which is
  what builds the reserve; beyond it, the excess is revealed within `tau`, the gap
  spread (mean + 4 deviations, RFC 6298 style), so bursts are smoothed over about
  the time the next one is expected and an oversized cushion melts away.
- A silence longer than mean + 4 deviations is a stall: the arrival term drops
  out and the reserve trickles out at the floor pace.
- The floor is also what keeps slow models from being made slower: a model slower
  than the floor never builds a cushion and is shown as it arrives.

Behind a commit stage (streamui.pipeline.commit) the pushes are whole phrases, up to
its hold limit apart, and the upstream's own arrivals are reported through
`observe_upstream`. From the first such report on, the arrival rate and the gaps
(so the stall test, the reserve and `tau`) are measured on those arrivals, never on
the pushes: the model's pace, not the stage's rhythm. One rule is added for that
rhythm: while flowing, the arrival term never exceeds the words waiting divided by
the spread of the gaps between pushes (mean + 4 deviations), so the words of one
phrase last until the next is due instead of running out in a few frames. Without
reports (no commit stage) pushes feed every estimate, and that rule is off.

Around that rate law: the first visible word is revealed the moment it arrives
(even unfinished), and the rest of what came with it is paced like any other text;
reveals are whole words (words.py) at most once per frame, a frame's worth of the
pace at a time (rounded up to whole words); a char bucket and a sliding window keep
any 100 ms under `burst_chars`; after the upstream ends the rest drains within
about `drain_time`, as fast as the burst cap allows, its last word with the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..smoothing import Reveal, SmoothingStrategy
from .estimators import GapEstimator, RateEstimator
from .window import BurstWindow
from .words import WordQueue

# Credit is a float sum: a millionth short of a whole unit still counts as whole
# (wake-ups aim for the whole one, so a wake-up always makes progress).
_TICK = 1e-6
STALL_THRESHOLD = 0.25
# Upstream arrivals are reported in characters; the pace is in words. Words per
# character before any whole word was pushed (English prose runs about 5.5
# characters a word, its space included); afterwards, that of the pushed text.
WORDS_PER_CHAR = 1 / 5.5


@dataclass(frozen=True, slots=True, kw_only=True)
class AdaptiveConfig:
    frame: float = 1 / 30
    """At most one reveal per frame: 30 a second (every frame costs the server a render and a
    socket write; 60 a second doubled that cost, bench/README.md has the figures of both)."""
    floor_gap: float = 0.2
    """The floor pace: at least one word per `floor_gap` while words wait (300 words a minute)."""
    cover: float = 2.25
    """Stall (beyond the 250 ms nobody notices) the reserve is sized to hide when none longer was seen."""
    max_reserve: int = 40
    """Reserve cap in words, so the end of the stream always drains in time."""
    slack: float = 0.3
    """While text flows, reveal this much slower than it arrives."""
    min_tau: float = 0.05
    max_tau: float = 0.5
    rate_horizon: float = 1.0
    """Seconds of arrivals the arrival rate is measured over."""
    min_span: float = 0.1
    """Shortest span the arrival rate is measured over (the first arrivals)."""
    tail_hold: float = 0.15
    """An unfinished last word is shown after this much silence rather than held through a stall."""
    drain_time: float = 0.1
    burst_chars: int = 250
    burst_window: float = 0.1
    max_word: int = 32


class Adaptive(SmoothingStrategy):
    name = "adaptive"

    def __init__(self, config: AdaptiveConfig | None = None) -> None:
        self.config = cfg = config or AdaptiveConfig()
        self._words = WordQueue(max_word=cfg.max_word)
        # The upstream's pace: gaps, and words per second, from pushes, unless upstream
        # arrivals are reported (`observe_upstream`): then gaps, and characters per
        # second, from those alone.
        self._gaps = GapEstimator(initial_mean=0.05, initial_dev=0.025)
        self._arrivals = RateEstimator(horizon=cfg.rate_horizon)
        self._upstream = False
        self._upstream_chars = RateEstimator(horizon=cfg.rate_horizon)
        # The pushes themselves: words per character, when the last one came (an
        # unfinished word waits for silence after it), and the gaps between those
        # with something visible (how long one phrase must last behind a commit stage).
        self._pushed_chars = 0
        self._pushed_units = 0
        self._last_push: float | None = None
        self._push_gaps = GapEstimator(initial_mean=0.05, initial_dev=0.025)
        self._burst = BurstWindow(max_chars=cfg.burst_chars, window=cfg.burst_window)
        # Two token buckets: words at the current pace (one frame's worth deep, rounded
        # up to a whole word, so a word arriving after a wait shows at once, a wait
        # never earns a burst, and no fraction of the pace is lost to rounding), and
        # characters at the burst cap spread evenly over the frames of its window
        # (one frame's share deep: 84 characters at 250 per 100 ms and 30 fps).
        self._credit = 0.0
        self._credit_at = 0.0
        self._pace_now = 1 / cfg.floor_gap
        self._max_chars_rate = cfg.burst_chars / cfg.burst_window
        self._frame = cfg.frame  # `set_frame` may lengthen it under load
        self._chars_depth = cfg.burst_chars * cfg.frame / cfg.burst_window
        self._chars = self._chars_depth
        self._shown = False
        self._finished = False
        self._drain_pace = 0.0
        self._last_reveal = -math.inf

    def set_frame(self, seconds: float) -> None:
        """Reveal at most once per `seconds` (never more often than `frame`); the character bucket
        holds a frame's share of the burst cap, so a longer frame carries more text, none lost."""
        cfg = self.config
        frame = max(cfg.frame, seconds)
        if frame != self._frame:
            self._frame = frame
            self._chars_depth = cfg.burst_chars * frame / cfg.burst_window

    def observe_upstream(self, chars: int, now: float) -> None:
        """Raw upstream arrivals (a commit stage is in front): from the first report on,
        the gap and rate estimates come from these alone, never from the pushes."""
        if not self._upstream:
            self._upstream = True
            self._gaps = GapEstimator(initial_mean=0.05, initial_dev=0.025)  # forget pushes, if any
        if chars > 0:
            self._gaps.arrival(now)
            self._upstream_chars.arrival(now, chars)

    def push(self, text: str, now: float) -> None:
        before = len(self._words)
        self._words.push(text)
        units = len(self._words) - before
        self._pushed_chars += len(text)
        self._pushed_units += units
        self._last_push = now
        if not text.isspace():
            self._push_gaps.arrival(now)
        if not self._upstream:
            self._gaps.arrival(now)
            self._arrivals.arrival(now, units)

    def finish(self, now: float) -> None:
        self._finished = True
        self._drain_pace = (len(self._words) + 1) / self.config.drain_time

    def poll(self, now: float) -> Reveal:
        if not self._shown:
            return self._first(now)
        words = self._words
        elapsed = now - self._credit_at
        self._credit_at = now
        depth = max(1.0, math.ceil(self._pace_now * self._frame - _TICK))
        self._credit = min(self._credit + self._pace_now * elapsed, depth)
        self._chars = min(self._chars_depth, self._chars + self._max_chars_rate * elapsed)
        text = ""
        if now >= self._last_reveal + self._frame - _TICK and self._credit >= 1 - _TICK:
            room = min(self._burst.room(now), self._char_room())
            allowed = int(self._credit + _TICK)
            units = words.take(allowed, room)
            if len(units) < allowed and (self._finished or not units) and self._tail_ready(now):
                # After the end the last word is as final as the others: it goes with them.
                piece = words.take_tail(room - sum(map(len, units)))
                if piece:
                    units.append(piece)
            if units:
                text = "".join(units)
                self._credit -= len(units)
                self._record(now, text)
        if self._finished and words.pending_chars == 0:
            return Reveal(text, None, done=True)
        self._pace_now = self._pace(now)
        return Reveal(text, self._wake_at(now))

    def _first(self, now: float) -> Reveal:
        """The first visible word goes out the moment it arrives (even unfinished); the
        rest of what came with it is paced like any other text: it starts the cushion."""
        words = self._words
        if not words.has_visible():
            if self._finished:
                return Reveal(words.take_all(words.pending_chars), None, done=True)
            return Reveal("", None)
        text = words.take_first_word(self._burst.room(now))
        self._record(now, text)
        self._shown = True
        self._credit_at = now
        if self._finished and words.pending_chars == 0:
            return Reveal(text, None, done=True)
        self._pace_now = self._pace(now)
        return Reveal(text, self._wake_at(now))

    def _char_room(self) -> int:
        if self._chars >= self._chars_depth - _TICK:
            return max(int(self._chars + _TICK), self._words.first_len())  # a long word goes alone
        return int(self._chars + _TICK)

    def _record(self, now: float, text: str) -> None:
        self._burst.record(now, len(text))
        self._chars -= len(text)
        self._last_reveal = now

    def _pace(self, now: float) -> float:
        """Words per second until the next poll."""
        cfg = self.config
        floor = 1 / cfg.floor_gap
        stall_after = self._gaps.stall_threshold()
        tau = min(cfg.max_tau, max(cfg.min_tau, stall_after))
        flow = (1 - cfg.slack) * self._arrival_rate(now)
        cover = max(cfg.cover, self._gaps.largest - STALL_THRESHOLD)
        reserve = min(cfg.max_reserve, cover / cfg.floor_gap + flow * stall_after)
        excess = max(0.0, len(self._words) - reserve) / tau
        last = self._gaps.last
        stalled = last is not None and now - last > stall_after
        if stalled:
            pace = max(floor, excess)
        elif self._upstream:
            # Behind a commit stage text comes a phrase at a time: the words waiting
            # last until the next phrase is due (push gaps, mean + 4 deviations).
            phrase_due = self._push_gaps.stall_threshold()
            pace = max(floor, excess + min(flow, len(self._words) / phrase_due))
        else:
            pace = max(floor, excess + flow)
        if self._finished:
            pace = max(pace, self._drain_pace)
        return pace

    def _arrival_rate(self, now: float) -> float:
        """Words per second arriving: counted on pushes, or, with upstream arrivals
        reported, their characters at the words per character of the text pushed so far."""
        cfg = self.config
        if not self._upstream:
            return self._arrivals.rate(now, min_span=cfg.min_span)
        if self._pushed_units:
            per_char = self._pushed_units / self._pushed_chars
        else:
            per_char = WORDS_PER_CHAR
        return per_char * self._upstream_chars.rate(now, min_span=cfg.min_span)

    def _tail_ready(self, now: float) -> bool:
        words = self._words
        if not words.tail or len(words):
            return False
        last = self._last_push
        return self._finished or (last is not None and now - last >= self.config.tail_hold - _TICK)

    def _wake_at(self, now: float) -> float | None:
        cfg = self.config
        words = self._words
        earliest = self._last_reveal + self._frame
        if len(words):
            need = words.first_len()
        elif words.tail:
            need = 1
            last = self._last_push
            if not self._tail_ready(now) and last is not None:
                earliest = max(earliest, last + cfg.tail_hold)
        else:
            return None
        by_pace = now + max(0.0, 1 - self._credit) / self._pace_now
        by_chars = now + max(0.0, min(need, self._chars_depth) - self._chars) / self._max_chars_rate
        return max(earliest, by_pace, by_chars, self._burst.next_room_at(now, need))

    def __repr__(self) -> str:
        return f"Adaptive({self.config!r})"


__all__ = ["Adaptive", "AdaptiveConfig"]
