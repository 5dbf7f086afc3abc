"""The correction detector and policies on the corrections corpus (bench/corrections/).

Each case is one short answer (`text`; a `<think>` span in it is reasoning), labelled
`label` (true: it retracts `retracted`), with `expected`, the visible answer under
`replace` (`~~x~~` = shown struck through). Every case runs through a fresh chat
pipeline (a `CommitStage`, then `adaptive` smoothing) on its virtual-clock driver, once
per timing:

- `once`: the whole text in one delta;
- `words`: a word (with the whitespace before it) every 20-40 ms (seeded per case);
- `20`, `50`, `100`: cl100k tokens at that many tokens per second.

Per split and timing it reports the detector's precision and recall (a case is
detected when the stage acted on a correction, in time or late), the late rate (late
corrections over detected true ones: the sentence was already shown, so it stays,
marked), how often the visible answer is garbled (a sentence after a removal starting
in lower case or with a comma or dash, or a word of the answer lost or changed beyond
the retracted sentence and its opener) and how often it differs from `expected` when
the correction came in time. The decision must not depend on timing: `flips` counts
cases whose decision differs from the `once` timing.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from streamui.pipeline.commit import CommitStage, Reasoning, TimedPiece
from streamui.pipeline.corrections import Committed, LateRevision, Revision, Struck
from streamui.pipeline.smoothing import make_strategy
from streamui.pipeline.virtual import PipelineRun, run_pipeline
from streamui.upstream.events import End, TextDelta
from streamui.upstream.tokens import split_tokens
from streamui.upstream.traces import TimedEvent

CORPUS = Path(__file__).resolve().parents[2] / "bench" / "corrections" / "corpus.jsonl"
TIMINGS = ("once", "words", "20", "50", "100")
LEAD = "Here is what I found.\n\n"
"""Put in front of every case for the "in an answer" run: most corpus cases correct their first
sentence, which the first-phrase hold shows early; in a real answer most corrections come later."""
SPLITS = ("tuning", "heldout")
_WORD = re.compile(r"\s*\S+")
_TOKENS = re.compile(r"\w+(?:['’]\w+)*")
_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL)


class CorpusError(ValueError):
    """A corpus line that is not a valid case."""


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    text: str
    label: bool
    retracted: str | None
    expected: str
    category: str
    split: str
    source: str

    @property
    def answer(self) -> str:
        """The text as a renderer without corrections shows it (reasoning taken out)."""
        return _THINK.sub("", self.text)

    def with_lead(self, lead: str) -> Case:
        """The same case after a lead paragraph (after its reasoning, if any)."""
        head = self.text[: len(self.text) - len(self.text.lstrip())]
        think = _THINK.match(self.text.lstrip())
        cut = len(head) + (think.end() if think else 0)
        return Case(
            self.id, self.text[:cut] + lead + self.text[cut:], self.label, self.retracted,
            lead + self.expected, self.category, self.split, self.source,
        )  # fmt: skip

    @property
    def corrects_first_sentence(self) -> bool:
        return bool(self.retracted) and self.answer.lstrip().startswith(str(self.retracted))


def load_corpus(path: Path = CORPUS) -> list[Case]:
    cases: list[Case] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                case = Case(
                    id=str(row["id"]),
                    text=str(row["text"]),
                    label=bool(row["label"]),
                    retracted=row["retracted"],
                    expected=str(row["expected"]),
                    category=str(row["category"]),
                    split=str(row["split"]),
                    source=str(row["source"]),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise CorpusError(f"{path}:{n}: {exc}") from None
            if case.split not in SPLITS:
                raise CorpusError(f"{path}:{n}: split must be one of {SPLITS}, got {case.split!r}")
            if case.label and not (case.retracted and case.retracted in case.text):
                raise CorpusError(f"{path}:{n}: a correction needs `retracted`, a span of `text`")
            cases.append(case)
    return cases


def split_of(case_id: str) -> str:
    """The held-out split, decided by the id alone before any tuning."""
    return "tuning" if int(hashlib.sha256(case_id.encode()).hexdigest()[0], 16) < 8 else "heldout"


def arrivals(text: str, timing: str, *, seed: str = "") -> list[TimedEvent]:
    """The text as timed deltas for `timing` (see the module docstring), then the end."""
    if timing == "once":
        pieces, times = [text], [0.0]
    elif timing == "words":
        rng = random.Random(seed)
        pieces = _WORD.findall(text)
        if "".join(pieces) != text:  # trailing whitespace
            pieces.append(text[len("".join(pieces)) :])
        t, times = 0.0, []
        for _ in pieces:
            times.append(round(t, 6))
            t += rng.uniform(0.02, 0.04)
    else:
        rate = float(timing)
        pieces = split_tokens(text)
        times = [round(k / rate, 6) for k in range(len(pieces))]
    events = [TimedEvent(t, TextDelta(p)) for t, p in zip(times, pieces, strict=True) if p]
    end_t = (times[-1] if times else 0.0) + 0.001
    return [*events, TimedEvent(end_t, End())]


@dataclass(frozen=True, slots=True)
class CaseRun:
    case: Case
    timing: str
    detected: bool
    late: bool
    visible: str
    """The answer as shown: committed text, struck text as ~~x~~."""
    reasoning: str
    revisions: tuple[Revision, ...]
    garbled: tuple[str, ...]
    unrevealed: bool = False
    """Late, but behind `adaptive` smoothing none of the revised sentence was revealed yet when
    the correction was decided: one buffer for the cushion and the hold would have hidden it."""

    @property
    def mismatch(self) -> bool:
        """In time, the visible answer differs from the corpus's `expected`."""
        want = self.case.answer if self.late or not self.case.label else self.case.expected
        return self.visible != want


def run_case(case: Case, timing: str, policy: str = "replace") -> CaseRun:
    stage = CommitStage(policy)
    events = arrivals(case.text, timing, seed=case.id)
    run = run_pipeline(stage, make_strategy("adaptive"), events)
    pieces = run.pieces
    visible = _visible(pieces)
    revisions = tuple(p.piece for p in pieces if isinstance(p.piece, Revision))
    reasoning = "".join(p.piece.text for p in pieces if isinstance(p.piece, Reasoning))
    detected = stage.stats.corrections + stage.stats.late_corrections > 0
    return CaseRun(
        case=case,
        timing=timing,
        detected=detected,
        late=stage.stats.late_corrections > 0,
        visible=visible,
        reasoning=reasoning,
        revisions=revisions,
        garbled=tuple(garbled(case, visible, revisions, reasoning)),
        unrevealed=stage.stats.late_corrections > 0 and _unrevealed(run),
    )


def _unrevealed(run: PipelineRun) -> bool:
    """Had `adaptive` revealed none of each late-revised sentence when its correction was decided?"""
    for timed in run.pieces:
        if isinstance(timed.piece, LateRevision):
            revealed = sum(len(a.text) for a in run.schedule if a.t <= timed.t)
            if revealed > timed.piece.start:
                return False
    return True


def _visible(pieces: Iterable[TimedPiece]) -> str:
    out: list[str] = []
    for timed in pieces:
        p = timed.piece
        if isinstance(p, Committed):
            out.append(p.text)
        elif isinstance(p, Struck):
            out.append(f"~~{p.text}~~")
    return "".join(out)


def garbled(case: Case, visible: str, revisions: Sequence[Revision], reasoning: str) -> list[str]:
    """What in `visible` does not read as the answer minus what was retracted."""
    problems: list[str] = []
    think = "".join(_THINK.findall(case.text))
    if think and reasoning != think:
        problems.append("the reasoning changed")
    words = [w.casefold() for w in _TOKENS.findall(case.answer)]
    for rev in revisions:
        if isinstance(rev, LateRevision):
            continue
        cut = [w.casefold() for w in _TOKENS.findall(rev.original + " " + rev.opener)]
        at = _find(words, cut)
        if at < 0:
            problems.append(f"the revised text {rev.original!r} is not in the answer")
            continue
        del words[at : at + len(cut)]
        after = visible[rev.at :].lstrip() if rev.at <= len(visible) else ""
        if after and (after[0] in ",;:—–-" or _lower_start(after)):
            problems.append(f"the corrected sentence starts badly: {after[:30]!r}")
    shown = [w.casefold() for w in _TOKENS.findall(visible.replace("~~", ""))]
    if shown != words:
        problems.append("answer words were lost or changed")
    return problems


def _lower_start(text: str) -> bool:
    word = text.split(maxsplit=1)[0]
    return word[0].islower() and len(word.strip(",.;:!?")) > 1


def _find(words: list[str], cut: list[str]) -> int:
    for i in range(len(words) - len(cut) + 1):
        if words[i : i + len(cut)] == cut:
            return i
    return -1


@dataclass(slots=True)
class Totals:
    cases: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    late: int = 0
    later_tp: int = 0
    """Detected corrections of a sentence other than the answer's first."""
    later_late: int = 0
    unrevealed: int = 0
    """Late corrections whose sentence smoothing had not revealed yet (see `CaseRun.unrevealed`)."""
    garbled: int = 0
    mismatch: int = 0
    flips: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def late_rate(self) -> float:
        return self.late / self.tp if self.tp else 0.0

    @property
    def later_late_rate(self) -> float:
        return self.later_late / self.later_tp if self.later_tp else 0.0


@dataclass(slots=True)
class CorrectionsReport:
    policy: str
    lead: str = ""
    runs: list[CaseRun] = field(default_factory=list)
    totals: dict[tuple[str, str], Totals] = field(default_factory=dict)


def run(
    cases: Sequence[Case], timings: Sequence[str] = TIMINGS, policy: str = "replace", *, lead: str = ""
) -> CorrectionsReport:
    """Every case at every timing; with `lead`, each case after that lead paragraph."""
    if lead:
        cases = [c.with_lead(lead) for c in cases]
    report = CorrectionsReport(policy, lead)
    once = {c.id: run_case(c, "once", policy).detected for c in cases}
    for timing in timings:
        for case in cases:
            r = run_case(case, timing, policy)
            report.runs.append(r)
            t = report.totals.setdefault((case.split, timing), Totals())
            t.cases += 1
            t.tp += r.detected and case.label
            t.fp += r.detected and not case.label
            t.fn += case.label and not r.detected
            t.late += r.late and case.label and r.detected
            t.unrevealed += r.unrevealed and case.label and r.detected
            if case.label and r.detected and not case.corrects_first_sentence:
                t.later_tp += 1
                t.later_late += r.late
            t.flips += r.detected != once[case.id]
            if r.garbled:
                t.garbled += 1
                t.errors.append(f"{case.id} @{timing}: {'; '.join(r.garbled)}")
            t.mismatch += r.mismatch and r.detected == case.label
    return report


HEADER = (
    f"{'split':<8} {'timing':<7} {'cases':>5} {'tp':>4} {'fp':>4} {'fn':>4} {'prec':>6} {'recall':>6} "
    f"{'late':>4} {'late%':>6} {'unseen':>6} {'later':>5} {'late%':>6} {'garbled':>7} {'differs':>7} {'flips':>5}"
)
LEGEND = (
    "corrections corpus (bench/corrections/corpus.jsonl), policy {policy}: prec/recall of the stage's "
    "decisions (in time or late); late%: late / detected corrections (already shown: kept, marked); later, "
    "late%: the detected corrections of a sentence other than the first, and the share of them late; "
    "unseen: late ones whose sentence adaptive smoothing had not yet revealed when the correction was decided "
    "(a cushion and hold kept as one buffer would hide them); "
    "garbled: cases whose visible answer breaks a sentence or loses words; differs: right decision but a "
    "visible answer other than the corpus's `expected`; flips: decisions that differ from `once`; timing: "
    "once = all at once, words = a word every 20-40 ms, N = N tokens/s"
)


def write_text(report: CorrectionsReport, out: IO[str]) -> None:
    where = f"after the lead {report.lead!r}" if report.lead else "as written"
    out.write(f"corrections corpus, {where}\n")
    out.write(HEADER + "\n")
    for split in SPLITS:
        for timing in TIMINGS:
            t = report.totals.get((split, timing))
            if t is None:
                continue
            out.write(
                f"{split:<8} {timing:<7} {t.cases:>5} {t.tp:>4} {t.fp:>4} {t.fn:>4} {t.precision:>6.3f} "
                f"{t.recall:>6.3f} {t.late:>4} {t.late_rate * 100:>5.1f}% {t.unrevealed:>6} {t.later_tp:>5} "
                f"{t.later_late_rate * 100:>5.1f}% "
                f"{t.garbled:>7} {t.mismatch:>7} "
                f"{t.flips:>5}\n"
            )
    out.write(LEGEND.format(policy=report.policy) + "\n")


def run_both(path: Path = CORPUS, policy: str = "replace") -> list[CorrectionsReport]:
    """The corpus as written and in an answer (after `LEAD`)."""
    cases = load_corpus(path)
    return [run(cases, policy=policy), run(cases, policy=policy, lead=LEAD)]


def to_json(report: CorrectionsReport) -> dict[str, object]:
    return {
        "policy": report.policy,
        "lead": report.lead,
        "totals": {
            f"{split}/{timing}": {
                "cases": t.cases,
                "tp": t.tp,
                "fp": t.fp,
                "fn": t.fn,
                "precision": t.precision,
                "recall": t.recall,
                "late": t.late,
                "late_rate": t.late_rate,
                "unrevealed": t.unrevealed,
                "later": t.later_tp,
                "later_late_rate": t.later_late_rate,
                "garbled": t.garbled,
                "differs": t.mismatch,
                "flips": t.flips,
            }
            for (split, timing), t in report.totals.items()
        },
    }


def misses(report: CorrectionsReport, split: str, timing: str = "once") -> list[str]:
    """The wrong decisions on one split and timing, for tuning on `tuning` only."""
    out = []
    for r in report.runs:
        if r.case.split == split and r.timing == timing and r.detected != r.case.label:
            out.append(f"{'FP' if r.detected else 'FN'} {r.case.id}: {r.case.text!r}")
        elif r.case.split == split and r.timing == timing and r.mismatch:
            out.append(f"DIFF {r.case.id}: {r.visible!r} != {r.case.expected!r}")
    return out


__all__ = [
    "CORPUS",
    "LEAD",
    "SPLITS",
    "TIMINGS",
    "Case",
    "CaseRun",
    "CorpusError",
    "CorrectionsReport",
    "Totals",
    "arrivals",
    "garbled",
    "load_corpus",
    "misses",
    "run",
    "run_both",
    "run_case",
    "split_of",
    "to_json",
    "write_text",
]
