"""Self-corrections: spotting an opener in held text, and what to do about it.

A model that writes "The capital is Sydney. Actually, it is Canberra." has taken its
own words back. If the first sentence is still held by the commit stage when the
opener arrives, a policy decides what the user sees:

- `replace`: the corrected sentence and the opener are dropped before anyone sees
  them; a `Revision` record carries the original, so the renderer can show a small
  "revised" mark that reveals it on demand (nothing is hidden from a user who asks).
  The correction then starts the sentence: capitalised, no leading comma or dash.
  When the correction is a fragment that cannot stand alone ("Call me at five.
  Sorry, I meant six."), it falls back to `annotate` for that correction, so what
  stays visible always reads as written.
- `annotate`: the corrected sentence is shown struck through (`Struck`), followed by
  the opener and the correction as ordinary text.
- `passthrough`: no detection at all; everything is shown as written.

A correction whose sentence was already shown (the opener came too late) is never
taken back under any policy: the shown text stays, a `LateRevision` mark follows it,
and the opener and correction are shown as written.

Policies are named like smoothing strategies (`POLICIES`, `make_policy`) so they can
be switched per stream and A/B-tested. The detector is pluggable: anything with a
`detect(text, *, final)` method (see `CorrectionDetector`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, Final, Literal, Protocol

from .registry import Registry

# --- what the commit stage emits for the answer --------------------------------------


@dataclass(frozen=True, slots=True)
class Committed:
    """Answer text that is final: it goes on to smoothing and the screen."""

    text: str


@dataclass(frozen=True, slots=True)
class Struck:
    """`annotate`: a corrected phrase, to be shown struck through.

    `at` is the number of committed answer characters (`Committed` text) before it.
    """

    text: str
    at: int


@dataclass(frozen=True, slots=True)
class Revision:
    """`replace`: a phrase that was dropped unseen, with the opener that retracted it.

    The correction follows as ordinary `Committed` text. `at` is the number of
    committed answer characters before the mark.
    """

    original: str
    opener: str
    at: int


@dataclass(frozen=True, slots=True)
class LateRevision(Revision):
    """A correction of text that was already shown: nothing is removed.

    `original` is the shown sentence, committed from offset `start` to `at`; the mark
    goes at `at` (a renderer may strike the shown span); the opener and the correction
    follow as ordinary `Committed` text.
    """

    start: int = 0


AnswerPiece = Committed | Struck | Revision

# --- detection -----------------------------------------------------------------------

DEFAULT_OPENERS: Final[tuple[str, ...]] = (
    "Actually,",
    "Wait,",
    "Correction:",
    "Let me reconsider",
    "I mean",
    "Sorry, I",
)

PENDING: Final = "pending"
"""`detect` needs more text to decide."""


@dataclass(frozen=True, slots=True)
class OpenerMatch:
    opener: str
    """The opener as written in the text ("actually," keeps its case)."""
    end: int
    """Index in the examined text just after the opener (and its punctuation and spaces)."""
    fragment: bool = False
    """The correction cannot stand alone as a sentence ("six.", "3pm."): keep the opener."""


Detection = OpenerMatch | Literal["pending"] | None


class CorrectionDetector(Protocol):
    def detect(self, text: str, *, final: bool, previous: str = "") -> Detection:
        """Does `text`, which starts at a sentence start, open with a correction of `previous`
        (the sentence just before it)?

        Return an `OpenerMatch`, `None` (it does not), or `PENDING` when the text is
        too short to tell (only when `final` is false: no more text will come). The
        answer must depend on the text alone, never on how it was cut into arrivals.
        (A detector whose `detect` takes no `previous` is called without it.)
        """
        ...


class PhraseDetector:
    """Matches a fixed list of openers at the start of the text.

    - Case-insensitive ("actually," matches "Actually,").
    - A space in an opener matches any run of whitespace.
    - Whole words only: an opener that ends in a letter must be followed by a
      non-word character, so "I mean" matches "I mean, ..." but not "I meant".
    - The longest opener wins, and while a longer opener could still match, the
      answer is `PENDING`.
    """

    def __init__(self, openers: Iterable[str] = DEFAULT_OPENERS) -> None:
        cleaned = [" ".join(o.split()) for o in openers]
        if any(not o for o in cleaned):
            raise ValueError("correction openers must not be empty")
        self.openers: tuple[str, ...] = tuple(sorted(set(cleaned), key=len, reverse=True))

    def detect(self, text: str, *, final: bool, previous: str = "") -> Detection:
        best: OpenerMatch | None = None
        pending = False
        for opener in self.openers:
            result = _match_opener(opener, text, final=final)
            if result == PENDING:
                pending = True
            elif isinstance(result, int) and (best is None or result > best.end):
                best = OpenerMatch(text[:result], result)
        if pending:
            return PENDING
        return best

    def __repr__(self) -> str:
        return f"PhraseDetector({list(self.openers)!r})"


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_'’"


def _match_opener(opener: str, text: str, *, final: bool) -> int | Literal["pending"] | None:
    """End index of `opener` at the start of `text`, `PENDING`, or None."""
    i = 0
    for ch in opener:
        if i >= len(text):
            return None if final else PENDING
        if ch == " ":
            if not text[i].isspace():
                return None
            while i < len(text) and text[i].isspace():
                i += 1
            continue
        if text[i].casefold() != ch.casefold():
            return None
        i += 1
    if _is_word_char(opener[-1]):
        if i >= len(text):
            return i if final else PENDING
        if _is_word_char(text[i]):
            return None
    return i


# --- policies ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundCorrection:
    """A correction opener right after a sentence that is still wholly held."""

    phrase: str
    """The corrected sentence, e.g. "The capital is Sydney."."""
    between: str
    """Whitespace between the sentence and the opener."""
    opener: str
    """The opener as written, e.g. "Actually,"."""
    after: str
    """Whitespace after the opener."""
    fragment: bool = False
    """The correction cannot stand alone as a sentence (see `OpenerMatch.fragment`)."""


@dataclass(frozen=True, slots=True)
class Resolution:
    """What the commit stage does with a `FoundCorrection`."""

    keep: str
    """Text that stays held, in front of the correction (it is then committed as usual)."""
    struck: str = ""
    """Shown struck through, in place of the phrase."""
    revised: str = ""
    """Dropped unseen, kept for a "revised" mark."""
    capitalize: bool = False
    """Upper-case the first letter of the correction if its first word is all lower-case."""


class CorrectionPolicy(ABC):
    name: ClassVar[str]
    detects: ClassVar[bool] = True
    """False: the commit stage does not look for openers (and holds nothing for them)."""

    @abstractmethod
    def resolve(self, found: FoundCorrection) -> Resolution:
        """Decide how the corrected phrase is shown."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReplacePolicy(CorrectionPolicy):
    name = "replace"

    def resolve(self, found: FoundCorrection) -> Resolution:
        if found.fragment:  # "Sorry, I meant six.": without the opener it would not read
            return Resolution(keep=found.between + found.opener + found.after, struck=found.phrase)
        return Resolution(keep="", revised=found.phrase, capitalize=True)


class AnnotatePolicy(CorrectionPolicy):
    name = "annotate"

    def resolve(self, found: FoundCorrection) -> Resolution:
        return Resolution(keep=found.between + found.opener + found.after, struck=found.phrase)


class PassthroughPolicy(CorrectionPolicy):
    name = "passthrough"
    detects = False

    def resolve(self, found: FoundCorrection) -> Resolution:
        return Resolution(keep=found.phrase + found.between + found.opener + found.after)


PolicyFactory = Callable[[], CorrectionPolicy]

POLICIES: Registry[CorrectionPolicy] = Registry(
    "correction policy", {"replace": ReplacePolicy, "annotate": AnnotatePolicy, "passthrough": PassthroughPolicy}
)
register_policy = POLICIES.register
make_policy = POLICIES.make
policy_names = POLICIES.names


def capitalize_first_word(text: str) -> str:
    """Upper-case the first letter of `text` if its first word is plain lower-case.

    "it is" -> "It is", "don't" -> "Don't"; "iPhone", "x86", "e.g." and a one-letter
    symbol ("x = -4") are left alone ("a" becomes "A").
    """
    start = len(text) - len(text.lstrip())
    end = start
    while end < len(text) and not text[end].isspace():
        end += 1
    word = text[start:end].rstrip(",.;:!?")
    if not word or not all(ch.isalpha() or ch in "'’" for ch in word) or not word.islower():
        return text
    if len(word) == 1 and word not in "ai":
        return text
    return text[:start] + word[0].upper() + text[start + 1 :]


__all__ = [
    "DEFAULT_OPENERS",
    "PENDING",
    "POLICIES",
    "AnnotatePolicy",
    "AnswerPiece",
    "Committed",
    "CorrectionDetector",
    "CorrectionPolicy",
    "Detection",
    "FoundCorrection",
    "LateRevision",
    "OpenerMatch",
    "PassthroughPolicy",
    "PhraseDetector",
    "PolicyFactory",
    "ReplacePolicy",
    "Resolution",
    "Revision",
    "Struck",
    "capitalize_first_word",
    "make_policy",
    "policy_names",
    "register_policy",
]
