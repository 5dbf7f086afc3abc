"""The commit stage: only text that will never be taken back goes on to the screen.

Streaming should behave like read-committed, not read-uncommitted. The stage sits
between the upstream and smoothing and is driven like a smoothing strategy: `push`
upstream events with the time they arrived, `finish` when the upstream ends, and
`poll(now)` for what is committed and when to poll again. It never reads a clock.

What it holds back, and until when:

- Drafts (speculative decoding). `DraftDelta` text is never shown; `Rollback(n)`
  drops the last n characters of unconfirmed draft (more than there is: clamped, and
  counted in `stats.rollback_overflow`); `Confirm` makes all draft so far final, and
  it then goes through the rules below as if it had just arrived. `TextDelta` text
  is final at once, even while a draft is pending (as `Trace.text` reads a trace).
  Draft still unconfirmed when the stream ends is dropped.
- Reasoning. `ReasoningDelta` text and `<think>` spans in the content (see
  `think.ThinkSplitter`) are emitted as `Reasoning` pieces as they arrive, never
  mixed into the answer and never held.
- Answer text is held until a commit point:
  * sentence end: `.`, `!`, `?` or `…`, optionally followed by closing quotes,
    brackets or emphasis markers, then whitespace (so "3.14" and "example.com" are
    not ends); a few abbreviations ("e.g.", "i.e.", "vs.", "Dr.", ...) are not ends;
  * a newline (so a blank line, a heading, a list item and a closing code fence
    each end a phrase);
  * clause punctuation: `,`, `;` or `:` followed by whitespace (weak, see below);
  * the CJK forms `。！？` (sentence) and `，、；：` (clause), with no space needed.
  Inside a fenced code block only newlines count (code commits line by line) and
  nothing is taken for a correction.
- Self-corrections. A correction opener ("Actually,", "Wait,", ...) counts only at a
  sentence start, so a sentence that just ended is kept until the start of the next
  one shows it is not an opener ("The" commits "Sydney." at once; "I" waits for
  "I mean" vs "I think"). The detector (`correction_rules.RuleDetector` by default)
  also reads the sentence it would retract and a fixed window of words after the
  opener ("Wait, let me double-check" verifies; "Sorry, I can't" refuses), so its
  decision depends on the text alone, never on how it arrived. When an opener
  follows a sentence that is still wholly held, the policy decides (see
  `corrections`). A sentence that is wholly held
  skips its clause points for up to `sentence_hold_ms` after its first character
  arrived, so a correction can take back the whole sentence rather than its last
  clause (half a retracted sentence reads worse than none); older than that, it
  commits at its clause points, trading whole-sentence corrections for latency.
  Once part of a sentence is committed, its remaining clauses commit at their
  punctuation. `sentence_hold_ms=0` commits every clause at once.
- An opener that arrives after its sentence was committed (the hold limit forced
  it out, or part of it was already shown) cannot take anything back: nothing
  shown is ever retracted, so a `LateRevision` mark follows the shown sentence, the
  correction is shown as written, and it is counted in `stats.late_corrections`.
- The first sentence. Until the answer's first sentence is out, the hold limit (and
  the sentence budget above) is `first_hold_ms` (default 100 ms): the first words
  show within 100 ms of arriving and the rest of that sentence follows in pieces no
  older, instead of the whole sentence waiting for the next one's opener. A
  correction of the first sentence is then usually late (marked, never removed).
- While an opener after a finished sentence is being judged, the hold limit grows
  by `opener_grace_ms` (default 60 ms), so more corrections come in time.
- Hold limits bound all of the above: when the oldest held character has waited
  `hold_ms`, or `hold_chars` characters are held, the held text commits anyway, up
  to its last whitespace (or all of it if it has none), so a model that never
  punctuates is not frozen. `poll` returns the next deadline as `wake_at`.

Defaults (`hold_ms = sentence_hold_ms = 340`, `first_hold_ms = 100`,
`opener_grace_ms = 60`): on the shipped trace corpus the per-commit hold (commit
time minus the arrival of the commit's first character) is p50 87 ms, p95 340 ms,
max 381 ms under `replace`, the first words show within 100 ms, and of its 21
generated corrections 17 are taken back whole and 3 are late (bench/README.md,
"Commit stage"). Longer holds gained no corrections and left a gap after a
one-word first phrase that smoothing cannot fill.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from .commit_corrections import CorrectionJudging, takes_previous
from .commit_input import CommitInput
from .commit_limits import HoldLimits
from .commit_points import FenceTracker, PointScanner
from .commit_records import CommitOutput, CommitStats, HoldRecord, Piece, Reasoning, TimedPiece, answer_text
from .correction_rules import RuleDetector
from .corrections import (
    PENDING,
    AnswerPiece,
    Committed,
    CorrectionDetector,
    CorrectionPolicy,
    LateRevision,
    Revision,
    Struck,
    capitalize_first_word,
    make_policy,
)
from .think import ThinkSplitter

DEFAULT_HOLD_MS: Final = 340.0
DEFAULT_HOLD_CHARS: Final = 200
DEFAULT_SENTENCE_HOLD_MS: Final = 340.0
DEFAULT_FIRST_HOLD_MS: Final = 100.0
DEFAULT_OPENER_GRACE_MS: Final = 60.0


class CommitStage(CommitInput, HoldLimits, CorrectionJudging):
    """Holds answer text until it is final; see the module docstring for the rules.

    `policy`: a `CorrectionPolicy` or a name from `corrections.POLICIES`.
    `detector`: finds correction openers (default `RuleDetector()`).
    `first_hold_ms`: the hold limit before the answer's first commit.
    `think`: splits `<think>` spans out of the content (default `ThinkSplitter()`).

    Its parts: `CommitInput` takes the events in, `HoldLimits` applies the hold limits,
    `CorrectionJudging` reads openers; this class owns their state and commits.
    """

    def __init__(
        self,
        policy: CorrectionPolicy | str = "replace",
        *,
        hold_ms: float = DEFAULT_HOLD_MS,
        hold_chars: int = DEFAULT_HOLD_CHARS,
        detector: CorrectionDetector | None = None,
        sentence_hold_ms: float = DEFAULT_SENTENCE_HOLD_MS,
        think: ThinkSplitter | None = None,
        first_hold_ms: float = DEFAULT_FIRST_HOLD_MS,
        opener_grace_ms: float = DEFAULT_OPENER_GRACE_MS,
    ) -> None:
        if hold_ms < 0 or hold_chars < 1 or sentence_hold_ms < 0 or first_hold_ms < 0:
            raise ValueError("hold_ms, sentence_hold_ms and first_hold_ms must be >= 0 and hold_chars >= 1")
        self.policy = make_policy(policy) if isinstance(policy, str) else policy
        self.detector: CorrectionDetector = detector or RuleDetector()
        self._pass_previous = takes_previous(self.detector)
        self.first_hold_ms = first_hold_ms
        self._first_hold_s = min(first_hold_ms, hold_ms) / 1000.0
        self.opener_grace_ms = opener_grace_ms
        self._grace_s = max(0.0, opener_grace_ms) / 1000.0
        self._opener_pending = False  # the next sentence starts with an opener still being judged
        self.hold_ms = hold_ms
        self.hold_chars = hold_chars
        self.sentence_hold_ms = sentence_hold_ms
        self.stats = CommitStats()
        self._hold_s = hold_ms / 1000.0
        self._sentence_hold_s = min(sentence_hold_ms, hold_ms) / 1000.0
        self._think = think or ThinkSplitter()
        self._fence = FenceTracker()
        self._scanner = PointScanner()  # commit points of _held, kept while it only grows
        self._draft = ""
        self._held = ""
        self._times: list[float] = []
        self._code: list[bool] = []
        self._sentence_start = True  # the held text starts a sentence
        self._line_start = True  # the held text starts a line
        self._capitalize = False
        self._watch_late_opener = False  # a hold limit just forced a sentence out
        self._watch_text = ""  # what was committed of the next sentence while watching it
        self._watch_at = 0  # committed characters when the watch began (the mark goes there)
        self._pending_end: int | None = None  # a sentence end whose next opener is undecided
        self._committed_chars = 0
        self._sentence_shown = ""  # the committed part of the sentence in progress
        self._sentence_at = 0  # where that sentence starts among the committed characters
        self._sentence_skip = 0  # blanks and list markers in front of it in _sentence_shown
        self._watch_previous = ""  # the sentence a watched opener would correct, and where it starts
        self._watch_previous_at = 0
        self._last_sentence = ""  # the last whole sentence committed (for a late opener)
        self._last_sentence_at = 0
        self._out: list[Piece] = []
        self._finished = False
        self._now = 0.0

    @property
    def finished(self) -> bool:
        return self._finished

    # --- output --------------------------------------------------------------------

    def poll(self, now: float) -> CommitOutput:
        """What is committed at `now`, and when to be polled next."""
        self._now = now
        self._process(now)
        pieces, self._out = tuple(self._out), []
        wake_at = self._wake_at(now)
        return CommitOutput(pieces, wake_at, done=self._finished and not self._held)

    # --- deciding ------------------------------------------------------------------

    def _process(self, now: float) -> None:
        final = self._finished
        while self._held:
            if self._step(now, final):
                continue
            if final:
                self._commit(len(self._held), sentence_end=True)
            elif now >= self._times[0] + self._limit_s() or len(self._held) >= self.hold_chars:
                self._force()
            else:
                break

    def _step(self, now: float, final: bool) -> bool:
        """Act on the first commit point that can be decided; False if none can."""
        self._pending_end = None
        self._opener_pending = False
        if self._watch_late_opener:
            self._count_late_opener(final)
        for end, kind in self._scanner.points(self._held, self._code, final):
            if kind == "code":
                self._commit(end, sentence_end=True)
                return True
            if kind == "clause":
                if self._holding_sentence(now):
                    continue
                self._commit(end, sentence_end=False)
                return True
            if not self.policy.detects:
                self._commit(end, sentence_end=True)
                return True
            found = self._lookahead(end, final)
            if found == PENDING:
                self._pending_end = end
                # A whole first word is not enough to rule an opener out: one is being judged.
                self._opener_pending = bool(re.match(r"\s*\S+\s", self._held[end:]))
                return False
            if found is None:
                self._commit(end, sentence_end=True)
            else:
                self._correct(end, *found)
            return True
        return False

    def _commit(self, n: int, *, sentence_end: bool, forced: bool = False) -> None:
        if n <= 0:
            return
        self._scanner.reset()
        if self._capitalize and self._held[:n].strip():
            self._held = capitalize_first_word(self._held)
            self._capitalize = False
        text = self._held[:n]
        self._out.append(Committed(text))
        self._record(self._times[:n], forced=forced)
        if self._sentence_start and not self._sentence_shown.strip():
            self._sentence_skip = self._gap_end(n) if text.strip() else n
            self._sentence_at = self._committed_chars + self._sentence_skip
            self._sentence_shown = ""
        self._sentence_shown += text
        if self._watch_late_opener:
            self._watch_text += text
        if sentence_end and self._sentence_shown.strip():
            self._last_sentence = self._sentence_shown[self._sentence_skip :].strip()
            self._last_sentence_at = self._sentence_at
            self._sentence_shown = ""
        self._committed_chars += n
        self._held = self._held[n:]
        self._times = self._times[n:]
        self._code = self._code[n:]
        self._sentence_start = sentence_end
        self._line_start = text.endswith("\n")

    def _record(self, times: Sequence[float], *, forced: bool) -> None:
        if not times:
            return
        if self.stats.first_answer_at is None:
            self.stats.first_answer_at = self._now
        self.stats.holds.append(HoldRecord(self._now, times[0], times[-1], len(times), forced))

    def __repr__(self) -> str:
        return (
            f"CommitStage(policy={self.policy.name!r}, hold_ms={self.hold_ms!r}, "
            f"hold_chars={self.hold_chars!r}, sentence_hold_ms={self.sentence_hold_ms!r})"
        )


__all__ = [
    "DEFAULT_FIRST_HOLD_MS",
    "DEFAULT_HOLD_CHARS",
    "DEFAULT_HOLD_MS",
    "DEFAULT_SENTENCE_HOLD_MS",
    "AnswerPiece",
    "CommitOutput",
    "CommitStage",
    "CommitStats",
    "Committed",
    "HoldRecord",
    "LateRevision",
    "Piece",
    "Reasoning",
    "Revision",
    "Struck",
    "TimedPiece",
    "answer_text",
]
