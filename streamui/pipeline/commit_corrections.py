"""Self-corrections inside the commit stage: spotting an opener after a sentence, and
what to do with it (take the sentence back under the policy, or mark it late).

`CorrectionJudging` is the part of `CommitStage` that reads openers, beside taking events in
(`commit_input`) and the hold limits (`commit_limits`); `commit.CommitStage` commits and owns
the state they all read and write.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Literal

from .commit_points import LINE_MARKERS, PointScanner, skip_space
from .commit_records import CommitStats, Piece
from .corrections import (
    PENDING,
    CorrectionDetector,
    CorrectionPolicy,
    Detection,
    FoundCorrection,
    LateRevision,
    OpenerMatch,
    Revision,
    Struck,
)

_Found = tuple[int, int, int, OpenerMatch]
"""(opener start, opener end, correction start, match)"""


class CorrectionJudging:
    policy: CorrectionPolicy
    detector: CorrectionDetector
    stats: CommitStats
    _pass_previous: bool
    _out: list[Piece]
    _held: str
    _times: list[float]
    _code: list[bool]
    _sentence_start: bool
    _line_start: bool
    _capitalize: bool
    _committed_chars: int
    _sentence_shown: str
    _sentence_skip: int
    _last_sentence: str
    _last_sentence_at: int
    _watch_late_opener: bool
    _watch_text: str
    _watch_at: int
    _watch_previous: str
    _watch_previous_at: int
    _scanner: PointScanner

    if TYPE_CHECKING:

        def _commit(self, n: int, *, sentence_end: bool, forced: bool = False) -> None: ...

        def _record(self, times: list[float], *, forced: bool) -> None: ...

    def _count_late_opener(self, final: bool) -> None:
        """An opener right after a sentence the hold limit forced out comes too late."""
        # The next sentence as written, whether or not a hold limit already showed part of it:
        # the decision must not depend on how the text was cut into commits.
        text = self._watch_text + self._held
        code = [False] * len(self._watch_text) + self._code
        start = skip_space(text, 0)
        if start == len(text) and not final:
            return
        if start < len(text) and code[start]:
            self._watch_late_opener = False
            return
        found = self._detect(text[start:], final, self._watch_previous) if self.policy.detects else None
        if found != PENDING:
            self._watch_late_opener = False
            if isinstance(found, OpenerMatch):
                self._mark_late(found.opener, self._watch_at, self._watch_previous, self._watch_previous_at)

    def _mark_late(self, opener: str, at: int | None = None, original: str | None = None, start: int = 0) -> None:
        """A committed sentence (default: the last) is corrected, too late to take it back: mark it."""
        self.stats.late_corrections += 1
        if original is None:
            original, start = self._last_sentence, self._last_sentence_at
        at = self._committed_chars if at is None else at
        self._out.append(LateRevision(original, opener, at, start))

    def _detect(self, text: str, final: bool, previous: str) -> Detection:
        try:
            if self._pass_previous:
                return self.detector.detect(text, final=final, previous=previous)
            return self.detector.detect(text, final=final)
        except Exception:  # a broken detector must not break the stream
            self.stats.detector_errors += 1
            return None

    def _lookahead(self, end: int, final: bool) -> _Found | Literal["pending"] | None:
        """Does a correction opener start the sentence after `end`? (opener start,
        opener end, correction start, match)"""
        held = self._held
        start = skip_space(held, end)
        if start == len(held):
            return None if final else PENDING
        if self._code[start]:
            return None
        shown = self._sentence_shown[self._sentence_skip :]
        previous = shown + held[self._gap_end(end) if self._sentence_start else 0 : end]
        found = self._detect(held[start:], final, previous.strip())
        if not isinstance(found, OpenerMatch):
            return found
        opener_end = start + found.end
        correction = skip_space(held, opener_end)
        if correction == len(held):
            # An opener with nothing after it retracts nothing: wait for the correction.
            return None if final else PENDING
        return start, opener_end, correction, found

    def _correct(self, end: int, start: int, opener_end: int, correction: int, found: OpenerMatch) -> None:
        held = self._held
        gap = self._gap_end(end)
        phrase = held[gap:end]
        if any(self._code[:end]) or not (self._sentence_shown + phrase).strip():
            self._commit(end, sentence_end=True)  # code, or nothing to retract: not a correction
            return
        if not self._sentence_start:  # part of the sentence is already shown
            self._commit(end, sentence_end=True)
            self._mark_late(found.opener)
            return
        resolution = self.policy.resolve(
            FoundCorrection(
                phrase, held[end:start], held[start:opener_end], held[opener_end:correction], found.fragment
            )
        )
        if not resolution.struck and not resolution.revised:
            self._commit(end, sentence_end=True)  # the policy let it stand
            return
        self.stats.corrections += 1
        self._commit(gap, sentence_end=True)
        replaced = correction - gap
        times = self._times[:replaced]
        if resolution.struck:
            self._out.append(Struck(resolution.struck, self._committed_chars))
            self._record(times[: len(phrase)], forced=False)
        if resolution.revised:
            self._out.append(Revision(resolution.revised, found.opener, self._committed_chars))
        keep = resolution.keep
        self.stats.dropped_chars += max(0, replaced - len(keep) - len(resolution.struck))
        keep_times = times[replaced - len(keep) :] if len(keep) <= replaced else [times[0]] * len(keep)
        self._held = keep + held[correction:]
        self._scanner.reset()
        self._times = keep_times + self._times[replaced:]
        self._code = [False] * len(keep) + self._code[replaced:]
        self._sentence_start = True
        self._capitalize = self._capitalize or resolution.capitalize

    def _gap_end(self, end: int) -> int:
        """End of what precedes the sentence proper: blanks, and list/quote/heading
        markers when the held text starts a line ("- " stays when its item is revised)."""
        held = self._held
        i = skip_space(held, 0, end)
        if self._line_start or "\n" in held[:i]:
            marker = LINE_MARKERS.match(held, i, end)
            if marker:
                i = skip_space(held, marker.end(), end)
        return i

    def _start_watch(self) -> None:
        self._watch_late_opener = True
        self._watch_previous, self._watch_previous_at = self._last_sentence, self._last_sentence_at
        self._watch_text = ""
        self._watch_at = self._committed_chars


def takes_previous(detector: CorrectionDetector) -> bool:
    """Does the detector's `detect` take the sentence it would correct (`previous`)?"""
    try:
        return "previous" in inspect.signature(detector.detect).parameters
    except (TypeError, ValueError):
        return False


__all__ = ["CorrectionJudging", "takes_previous"]
