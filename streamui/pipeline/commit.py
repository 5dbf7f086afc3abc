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

import inspect
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from ..upstream.events import (
    Confirm,
    DraftDelta,
    End,
    Event,
    ReasoningDelta,
    Rollback,
    TextDelta,
    UpstreamError,
)
from .correction_rules import RuleDetector
from .corrections import (
    PENDING,
    AnswerPiece,
    Committed,
    CorrectionDetector,
    CorrectionPolicy,
    Detection,
    FoundCorrection,
    LateRevision,
    OpenerMatch,
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

_SENTENCE_END: Final = ".!?…"
_CLAUSE_END: Final = ",;:"
_CJK_SENTENCE_END: Final = "。！？"
_CJK_CLAUSE_END: Final = "，、；："
_CLOSERS: Final = "\"'”’)]*_"
_ABBREVIATIONS: Final = frozenset(
    {"e.g", "i.e", "vs", "cf", "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "approx", "fig"}
)
_LINE_MARKERS: Final = re.compile(r"(?:[-*+][ \t]+|\d{1,9}[.)][ \t]+|>[ \t]*|#{1,6}[ \t]+)*")
_ENDS_SENTENCE: Final = re.compile(r"(?:[.!?…。！？][\"'”’)\]*_]*\s*|\n\s*)$")


@dataclass(frozen=True, slots=True)
class Reasoning:
    """Reasoning text, in arrival order; never part of the answer."""

    text: str


Piece = Committed | Struck | Revision | LateRevision | Reasoning
_Found = tuple[int, int, int, OpenerMatch]


@dataclass(frozen=True, slots=True)
class CommitOutput:
    pieces: tuple[Piece, ...]
    """What was decided since the last poll, in order."""
    wake_at: float | None
    """Poll again at this time even if nothing arrives; None: only on the next event."""
    done: bool = False
    """The upstream ended and everything has been emitted."""

    @property
    def text(self) -> str:
        """The committed answer text among `pieces` (what smoothing gets)."""
        return "".join(p.text for p in self.pieces if isinstance(p, Committed))

    @property
    def reasoning(self) -> str:
        return "".join(p.text for p in self.pieces if isinstance(p, Reasoning))


@dataclass(frozen=True, slots=True)
class HoldRecord:
    """One commit of answer text (a `Committed` or `Struck` piece)."""

    committed_at: float
    first_arrival: float
    """When the first character of the piece arrived (for drafts: was confirmed)."""
    last_arrival: float
    chars: int
    forced: bool
    """Committed by a hold limit rather than at a commit point."""

    @property
    def hold(self) -> float:
        """Seconds the commit stage held the piece's first character."""
        return self.committed_at - self.first_arrival


@dataclass(slots=True)
class CommitStats:
    """Timing facts for the stream record, and counters for the benchmark."""

    first_reasoning_at: float | None = None
    last_reasoning_at: float | None = None
    first_answer_arrival_at: float | None = None
    """First answer character that arrived (final text, i.e. not draft)."""
    first_answer_at: float | None = None
    """First answer character committed: the earliest it can become visible."""
    holds: list[HoldRecord] = field(default_factory=list)
    corrections: int = 0
    """Corrections the policy acted on."""
    late_corrections: int = 0
    """Openers that came after their sentence (or part of it) was committed: shown as written,
    with a `LateRevision` mark."""
    detector_errors: int = 0
    """Times the detector raised (taken as "no correction")."""
    dropped_chars: int = 0
    """Answer characters the policy dropped unseen (`replace`)."""
    rollbacks: int = 0
    rollback_overflow: int = 0
    """Characters rollbacks asked to drop beyond the pending draft."""
    discarded_draft_chars: int = 0
    """Draft still unconfirmed when the stream ended."""

    def hold_delays(self) -> list[float]:
        """Per commit: commit time minus arrival of its first character."""
        return [h.hold for h in self.holds]


class CommitStage:
    """Holds answer text until it is final; see the module docstring for the rules.

    `policy`: a `CorrectionPolicy` or a name from `corrections.POLICIES`.
    `detector`: finds correction openers (default `RuleDetector()`).
    `first_hold_ms`: the hold limit before the answer's first commit.
    `think`: splits `<think>` spans out of the content (default `ThinkSplitter()`).
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
        self._pass_previous = _takes_previous(self.detector)
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
        self._fence = _FenceTracker()
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

    # --- input ---------------------------------------------------------------------

    def push(self, event: Event, now: float) -> None:
        """An upstream event arrived at `now`. `End` and `UpstreamError` finish the
        stream (what was delivered before an error stays valid); tool calls and usage
        are not answer text and are ignored, as is anything after the end."""
        if self._finished:
            return
        if isinstance(event, TextDelta):
            self._content(event.text, now)
        elif isinstance(event, ReasoningDelta):
            self._reasoning(event.text, now)
        elif isinstance(event, DraftDelta):
            self._draft += event.text
        elif isinstance(event, Rollback):
            self.stats.rollbacks += 1
            self.stats.rollback_overflow += max(0, event.chars - len(self._draft))
            self._draft = self._draft[: max(0, len(self._draft) - event.chars)]
        elif isinstance(event, Confirm):
            text, self._draft = self._draft, ""
            self._content(text, now)
        elif isinstance(event, (End, UpstreamError)):
            self.finish(now)

    def finish(self, now: float) -> None:
        """The upstream ended at `now`; nothing more will be pushed."""
        if self._finished:
            return
        for channel, text in self._think.flush():
            self._route(channel, text, now)
        self.stats.discarded_draft_chars += len(self._draft)
        self._draft = ""
        self._finished = True

    # --- output --------------------------------------------------------------------

    def poll(self, now: float) -> CommitOutput:
        """What is committed at `now`, and when to be polled next."""
        self._now = now
        self._process(now)
        pieces, self._out = tuple(self._out), []
        wake_at = self._wake_at(now)
        return CommitOutput(pieces, wake_at, done=self._finished and not self._held)

    # --- routing -------------------------------------------------------------------

    def _content(self, text: str, now: float) -> None:
        for channel, segment in self._think.feed(text):
            self._route(channel, segment, now)

    def _route(self, channel: str, text: str, now: float) -> None:
        if channel == "reasoning":
            self._reasoning(text, now)
            return
        if self.stats.first_answer_arrival_at is None:
            self.stats.first_answer_arrival_at = now
        self._held += text
        self._times.extend([now] * len(text))
        self._code.extend(self._fence.feed(text))

    def _reasoning(self, text: str, now: float) -> None:
        if not text:
            return
        if self.stats.first_reasoning_at is None:
            self.stats.first_reasoning_at = now
        self.stats.last_reasoning_at = now
        self._out.append(Reasoning(text))

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
        for end, kind in self._points(final):
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

    def _count_late_opener(self, final: bool) -> None:
        """An opener right after a sentence the hold limit forced out comes too late."""
        # The next sentence as written, whether or not a hold limit already showed part of it:
        # the decision must not depend on how the text was cut into commits.
        text = self._watch_text + self._held
        code = [False] * len(self._watch_text) + self._code
        start = _skip_space(text, 0)
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
            and any(ch in _CLAUSE_END or ch in _CJK_CLAUSE_END for ch in self._held)
        ):
            return sentence_deadline  # a clause point is waiting on the sentence budget
        return limit

    def _points(self, final: bool) -> Iterator[tuple[int, Literal["sentence", "clause", "code"]]]:
        """Commit points in the held text, in order: (index after the point, kind)."""
        held, code = self._held, self._code
        n = len(held)
        for i, ch in enumerate(held):
            if code[i]:
                if ch == "\n":
                    yield i + 1, "code"
            elif ch == "\n" or ch in _CJK_SENTENCE_END:
                yield i + 1, "sentence"
            elif ch in _CJK_CLAUSE_END:
                yield i + 1, "clause"
            elif ch in _SENTENCE_END or ch in _CLAUSE_END:
                j = i + 1
                if ch in _SENTENCE_END:
                    while j < n and held[j] in _CLOSERS:
                        j += 1
                if j == n and not final:
                    return  # the next character decides whether this is a point
                if j < n and not held[j].isspace():
                    continue
                if ch in _CLAUSE_END:
                    yield j, "clause"
                elif ch != "." or not _is_abbreviation(held, i):
                    yield j, "sentence"

    def _lookahead(self, end: int, final: bool) -> _Found | Literal["pending"] | None:
        """Does a correction opener start the sentence after `end`? (opener start,
        opener end, correction start, match)"""
        held = self._held
        start = _skip_space(held, end)
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
        correction = _skip_space(held, opener_end)
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
        self._times = keep_times + self._times[replaced:]
        self._code = [False] * len(keep) + self._code[replaced:]
        self._sentence_start = True
        self._capitalize = self._capitalize or resolution.capitalize

    def _gap_end(self, end: int) -> int:
        """End of what precedes the sentence proper: blanks, and list/quote/heading
        markers when the held text starts a line ("- " stays when its item is revised)."""
        held = self._held
        i = _skip_space(held, 0, end)
        if self._line_start or "\n" in held[:i]:
            marker = _LINE_MARKERS.match(held, i, end)
            if marker:
                i = _skip_space(held, marker.end(), end)
        return i

    def _force(self) -> None:
        held = self._held
        if self._pending_end is not None:
            # A sentence waits on its next opener: show the sentence, keep the opener held and
            # judge it later (a correction then comes too late, and is marked).
            self._commit(self._pending_end, sentence_end=True, forced=True)
            self._start_watch()
            return
        cut = len(held)
        for i in range(len(held) - 1, _skip_space(held, 0), -1):  # not at the leading blank
            if held[i - 1].isspace() or held[i - 1] in _CJK_SENTENCE_END + _CJK_CLAUSE_END:
                cut = i
                break
        sentence_end = bool(_ENDS_SENTENCE.search(held[:cut]))
        self._commit(cut, sentence_end=sentence_end, forced=True)
        if sentence_end:
            self._start_watch()

    def _start_watch(self) -> None:
        self._watch_late_opener = True
        self._watch_previous, self._watch_previous_at = self._last_sentence, self._last_sentence_at
        self._watch_text = ""
        self._watch_at = self._committed_chars

    def _commit(self, n: int, *, sentence_end: bool, forced: bool = False) -> None:
        if n <= 0:
            return
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


def _takes_previous(detector: CorrectionDetector) -> bool:
    try:
        return "previous" in inspect.signature(detector.detect).parameters
    except (TypeError, ValueError):
        return False


def _skip_space(text: str, i: int, end: int | None = None) -> int:
    end = len(text) if end is None else end
    while i < end and text[i].isspace():
        i += 1
    return i


def _is_abbreviation(text: str, dot: int) -> bool:
    start = dot
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    return text[start:dot].lower() in _ABBREVIATIONS


_FENCE_OPEN: Final = re.compile(r"[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+|>[ \t]?)*(`{3,}|~{3,})(.*)")
_FENCE_CLOSE: Final = re.compile(r"[ \t]*(?:>[ \t]?)*(`{3,}|~{3,})[ \t]*")


class _FenceTracker:
    """Which characters are inside a fenced code block (judged at their line start)."""

    def __init__(self) -> None:
        self.fence: str | None = None
        self._line = ""

    def feed(self, text: str) -> list[bool]:
        flags: list[bool] = []
        start = 0
        while start < len(text):
            nl = text.find("\n", start)
            end = len(text) if nl < 0 else nl + 1
            flags.extend([self.fence is not None] * (end - start))
            self._line += text[start:end]
            if nl >= 0:
                self._end_line(self._line[:-1])
                self._line = ""
            start = end
        return flags

    def _end_line(self, line: str) -> None:
        if self.fence is None:
            m = _FENCE_OPEN.fullmatch(line)
            if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                self.fence = m.group(1)
        else:
            m = _FENCE_CLOSE.fullmatch(line)
            if m and m.group(1)[0] == self.fence[0] and len(m.group(1)) >= len(self.fence):
                self.fence = None


@dataclass(frozen=True, slots=True)
class TimedPiece:
    """A piece the commit stage emitted, and when (the chat pipeline records them with `record`)."""

    t: float
    piece: Piece


def answer_text(pieces: Iterable[Piece | TimedPiece]) -> str:
    """The committed answer text among `pieces`."""
    out: list[str] = []
    for piece in pieces:
        p = piece.piece if isinstance(piece, TimedPiece) else piece
        if isinstance(p, Committed):
            out.append(p.text)
    return "".join(out)


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
