"""How long the commit stage may hold answer text: the hold limits, the budget of a
wholly held sentence, the next deadline, and the cut made when a limit runs out.

`HoldLimits` is the part of `CommitStage` that applies the time and size limits of
the rules (see `commit`); the stage (`commit.CommitStage`) owns the state it reads and writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .commit_points import CJK_CLAUSE_END, CJK_SENTENCE_END, CLAUSE_END, ENDS_SENTENCE, skip_space
from .corrections import CorrectionPolicy


class HoldLimits:
    policy: CorrectionPolicy
    _first_hold_s: float
    _hold_s: float
    _sentence_hold_s: float
    _grace_s: float
    _opener_pending: bool
    _pending_end: int | None
    _held: str
    _times: list[float]
    _sentence_start: bool
    _last_sentence: str

    if TYPE_CHECKING:

        def _commit(self, n: int, *, sentence_end: bool, forced: bool = False) -> None: ...

        def _start_watch(self) -> None: ...

    def _in_first_sentence(self) -> bool:
        """Until the answer's first sentence is out, its pieces keep the first phrase's budget, so
        the first words are not followed by a long wait for the rest of their sentence."""
        return not self._last_sentence

    def _limit_s(self) -> float:
        """The hold limit: shorter before the answer's first commit (the first phrase), a little
        longer while an opener after a finished sentence is being judged (`opener_grace_ms`)."""
        if self._in_first_sentence():
            return self._first_hold_s
        return self._hold_s + (self._grace_s if self._opener_pending else 0.0)

    def _sentence_budget_s(self) -> float:
        """How long a wholly held sentence skips its clause points; the first phrase's budget is
        `first_hold_ms`, so its first clause shows as soon as that runs out."""
        if self._in_first_sentence():
            return min(self._first_hold_s, self._sentence_hold_s)
        return self._sentence_hold_s

    def _holding_sentence(self, now: float) -> bool:
        """Is a wholly held sentence young enough to keep skipping its clause points?"""
        return self.policy.detects and self._sentence_start and now < self._times[0] + self._sentence_budget_s()

    def _wake_at(self, now: float) -> float | None:
        if not self._held:
            return None
        limit = self._times[0] + self._limit_s()
        sentence_deadline = self._times[0] + self._sentence_budget_s()
        if (
            self._holding_sentence(now)
            and sentence_deadline < limit
            and any(ch in CLAUSE_END or ch in CJK_CLAUSE_END for ch in self._held)
        ):
            return sentence_deadline  # a clause point is waiting on the sentence budget
        return limit

    def _force(self) -> None:
        held = self._held
        if self._pending_end is not None:
            # A sentence waits on its next opener: show the sentence, keep the opener held and
            # judge it later (a correction then comes too late, and is marked).
            self._commit(self._pending_end, sentence_end=True, forced=True)
            self._start_watch()
            return
        cut = len(held)
        for i in range(len(held) - 1, skip_space(held, 0), -1):  # not at the leading blank
            if held[i - 1].isspace() or held[i - 1] in CJK_SENTENCE_END + CJK_CLAUSE_END:
                cut = i
                break
        sentence_end = bool(ENDS_SENTENCE.search(held[:cut]))
        self._commit(cut, sentence_end=sentence_end, forced=True)
        if sentence_end:
            self._start_watch()


__all__ = ["HoldLimits"]
