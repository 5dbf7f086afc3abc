"""What the commit stage hands on: pieces, the output of one poll, and its timing facts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .corrections import Committed, LateRevision, Revision, Struck


@dataclass(frozen=True, slots=True)
class Reasoning:
    """Reasoning text, in arrival order; never part of the answer."""

    text: str


Piece = Committed | Struck | Revision | LateRevision | Reasoning


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



__all__ = ["CommitOutput", "CommitStats", "HoldRecord", "Piece", "Reasoning", "TimedPiece", "answer_text"]
