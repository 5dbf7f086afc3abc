"""The default correction detector: openers, plus what the sentences around them say.

A fixed list of openers is not enough (issue 10): "Actually," also busts myths,
"Sorry, I" also refuses, "Wait," also gives instructions and starts a double-check.
`RuleDetector` therefore judges an opener with its context:

- the sentence it would retract (`previous`): a question, a report of what others
  believe ("Most people assume ..."), a label of the user's text ("Original: ...") or
  a pleasantry ("Great question.") is not the model's claim, so nothing is retracted;
- the words after the opener (the *window*): "Wait, let me double-check" verifies,
  "Sorry, I can't" refuses, "I mean, really huge" intensifies, "Actually, there's
  another problem" adds; an ambiguous opener ("No,", "I mean", "Sorry,", "Hmm,") needs
  a sign of retraction (a negation, "wrong", "I meant", or a value that replaces one of
  the previous sentence: 2pm -> 3pm, Downloads -> Documents, left -> right).

Strong openers ("Correction:", "Scratch that", "I was wrong", "No wait", ...) retract by
themselves. The decision is a function of the text only (the previous sentence and a
fixed window after the opener), never of arrival timing: until the window is complete
the answer is `PENDING`. Pure Python, no data files; it never raises on any string.

The opener patterns and their word-by-word matching are in `correction_openers`, the cues
of the previous sentence and the window in `correction_cues`.
"""

from __future__ import annotations

import re
from typing import Final, Literal, cast

from .correction_cues import (
    _BELIEF,
    _CONFIRM,
    _EXTENSION,
    _HMM_RETRACTS,
    _INSTRUCTION,
    _INTENSIFIER,
    _LABEL,
    _MENTION,
    _META,
    _QUESTION,
    _REFUSAL,
    _RETRACTS,
    _SPEECH,
    _VERB,
    _VERIFY,
    _value_swap,
)
from .correction_openers import _FIRST_WORDS, _PREFIXES, _STRONG, _TOKEN, _WEAK, Kind, _best, _match, _Tok, _tokens
from .corrections import PENDING, Detection, OpenerMatch

STRONG_WINDOW: Final = 2
"""Words after a strong opener needed before deciding (to tell a fragment correction)."""
WEAK_WINDOW: Final = 6
"""Words after an ambiguous opener needed (or the end of its sentence)."""
WINDOWS: Final[dict[str, int]] = {"strong": STRONG_WINDOW, "actually": 4, "wait": 4}
"""Per kind, where fewer words decide ("Actually,"/"Wait," are rejected by their first words)."""

_SENTENCE_END: Final = re.compile(r"[.!?…]+[\"'”’)\]*_]*(?=\s|$)")
_QUOTES: Final = "\"'“”‘’`«»„"
_EMPHASIS: Final = "*_"


class RuleDetector:
    """Opener rules with context; see the module docstring. Satisfies `CorrectionDetector`."""

    def detect(self, text: str, *, final: bool, previous: str = "") -> Detection:
        try:
            return self._detect(text, final=final, previous=previous)
        except Exception:  # a detector bug must never break a stream
            return None

    def _detect(self, text: str, *, final: bool, previous: str) -> Detection:
        i = 0
        while i < len(text) and i < 3 and text[i] in _EMPHASIS:
            i += 1
        if i >= len(text):
            return None if final else PENDING
        if text[i] in _QUOTES:
            return None  # quoted speech, inline code
        toks = _tokens(text, i, 24)
        if not final and text[-1] in "'’" and len(toks) > 1 and toks[-2].end == len(text) - 1:
            toks.pop()  # "That'" may become "That's": the word before the apostrophe is unfinished
        if not toks:
            return None if final else PENDING
        whole = final or (toks[-1].end < len(text) and text[-1] not in "'’")
        complete = -1 if final else (len(toks) if whole else len(toks) - 1)
        first = toks[0].low
        if (complete != 0 and first not in _FIRST_WORDS) or not any(w.startswith(first) for w in _FIRST_WORDS):
            return None
        found = self._opener(toks, complete)
        if found == "partial":
            return PENDING
        if found is None:
            return None
        end_tok, kind = found
        extended = self._extend(text, toks, end_tok, kind, final)
        if extended == "partial":
            return PENDING
        opener_end = extended
        ends = _SENTENCE_END.search(text, opener_end)
        if ends is not None and ends.end() >= len(text) and not final:
            ends = None  # "3." at the end of what arrived may still become "3.12"
        need = WINDOWS.get(kind, WEAK_WINDOW)
        window = [
            t
            for t in _tokens(text, opener_end, 6 * need + 6)
            if (ends is None or t.start < ends.start()) and t.text[:1].isalnum()
        ]
        if not (final or ends is not None or len(window) > need):
            return PENDING
        ended = ends is not None and len(window) <= need  # the sentence ends within the window
        window = window[:need]
        if not window and ends is None:
            return None  # an opener with nothing after it retracts nothing
        question = ends is not None and ends.group().startswith("?")
        if not self._accept(kind, previous, window, question, toks[end_tok - 1].low):
            return None
        if kind == "sorry":
            extended = self._extend_apology(text, opener_end, final)
            if extended == "partial":
                return PENDING
            opener_end = extended
            window = [t for t in window if t.start >= opener_end]
        return OpenerMatch(text[:opener_end], opener_end, self._fragment(text, toks, end_tok, window, ended))

    def _opener(self, toks: list[_Tok], complete: int) -> tuple[int, Kind] | Literal["partial"] | None:
        partial = False
        for prefix in _PREFIXES:
            p = _match(prefix, toks, 0, complete)
            if p == "partial":
                partial = True
            elif isinstance(p, int):
                s = _best(_STRONG, toks, p, complete)
                if s == "partial":
                    partial = True
                elif isinstance(s, int):
                    return s, "strong"
        strong = _best(_STRONG, toks, 0, complete)
        if strong == "partial" or partial:
            return "partial"
        if isinstance(strong, int):
            return strong, "strong"
        best: tuple[int, Kind] | None = None
        for slots, kind in _WEAK:
            r = _match(slots, toks, 0, complete)
            if r == "partial":
                return "partial"
            if isinstance(r, int) and (best is None or r > best[0]):
                best = (r, cast(Kind, kind))
        return best

    @staticmethod
    def _extend(text: str, toks: list[_Tok], end_tok: int, kind: Kind, final: bool) -> int | Literal["partial"]:
        """Character index after the opener: its own punctuation, and for a strong opener the rest
        of a short clause ending in ":" ";" a dash or the sentence end ("I was wrong about both:")."""
        last = toks[end_tok - 1]
        end = last.end
        ends_in_word = last.text[:1].isalnum() and last.low not in {"mean", "meant", "say"}
        nxt = _TOKEN.search(text, end)
        if kind == "strong" and ends_in_word and nxt is not None and nxt.group()[:1].isalnum():
            clause = _clause_end(text, end, 4, final)
            if clause == "partial":
                return "partial"
            end = clause or end
        elif kind == "strong" and ends_in_word and nxt is None and not final:
            return "partial"
        return _skip_punctuation(text, end)

    @staticmethod
    def _extend_apology(text: str, end: int, final: bool) -> int | Literal["partial"]:
        """ "I apologize for the confusion: ..." -> the opener runs to the colon."""
        start = end
        while start < len(text) and text[start].isspace():
            start += 1
        if text[start : start + 4].casefold() != "for ":
            return end
        clause = _clause_end(text, start, 6, final)
        if clause == "partial":
            return "partial"
        return _skip_punctuation(text, clause) if clause else end

    @staticmethod
    def _accept(kind: Kind, previous: str, window: list[_Tok], question: bool, opener_word: str = "") -> bool:
        prev = previous.strip().casefold().replace("’", "'")
        if not prev or prev.rstrip(" \"'”’)*_").endswith("?") or _BELIEF.search(prev) or _LABEL.search(prev):
            return False
        words = " ".join(t.low for t in window)
        if _SPEECH.match(words):
            return False
        first = window[0].low if window else ""
        if kind == "strong":
            # "I meant that." / "I meant it." say the previous sentence stands
            return not (opener_word in {"mean", "meant"} and (first in _INTENSIFIER or words in {"it", "that"}))
        if _META.search(prev):
            return False
        if _MENTION.search(words):
            return False  # the word itself is the subject: "Wait, in this context, means ..."
        if kind == "actually":
            return not (_CONFIRM.search(words) or _EXTENSION.search(words))
        if kind == "wait":
            return not (
                _VERIFY.match(words)
                or _QUESTION.match(words)
                or _INSTRUCTION.match(words)
                or _EXTENSION.search(words)
                or question
            )
        if question:
            return False
        if kind == "sorry":
            if _REFUSAL.match(words):
                return False
            return bool(_RETRACTS.search(words)) or _value_swap(previous, window)
        if kind == "mean":
            if first in _INTENSIFIER or (len(window) == 1 and first in {"it", "that", "this"}):
                return False
            return _value_swap(previous, window) or bool(_RETRACTS.search(words))
        # "hmm", "no": the retraction must show in the window itself.
        return bool(_HMM_RETRACTS.search(words)) or (kind == "no" and _value_swap(previous, window))

    @staticmethod
    def _fragment(text: str, toks: list[_Tok], end_tok: int, window: list[_Tok], ended: bool) -> bool:
        """Is the correction a fragment ("six.", "3pm.") that cannot stand alone as a sentence?"""
        last = toks[end_tok - 1]
        if last.low in {"mean", "meant", "say"} and text[last.end : last.end + 1] not in ",:—–-":
            return True  # "I meant six": the correction is the verb's object
        if not window:
            return False
        span = text[window[0].start : window[-1].end + 1].casefold()  # the window only: same on any prefix
        if ended and len(window) <= STRONG_WINDOW and not _VERB.search(span):
            return True
        return window[0].text[:1].isdigit() and not _VERB.search(span)

    def __repr__(self) -> str:
        return "RuleDetector()"


def _clause_end(text: str, start: int, max_words: int, final: bool) -> int | Literal["partial"] | None:
    """End of a short clause from `start` that ends in ":" ";" a dash or a sentence end, None if
    there is none, "partial" if the text so far cannot tell."""
    words = 0
    for tok in _TOKEN.finditer(text, start):
        t = tok.group()
        if t[:1].isalnum():
            words += 1
            if words > max_words:
                return None
            continue
        if t in ":;—–":
            return tok.end()
        if t in ".!" and tok.end() >= len(text) and not final:
            return "partial"  # "3." may become "3.10"
        if t in ".!" and _SENTENCE_END.match(text, tok.start()):
            # "Let me revise my previous answer." is an opener; "I was wrong the sky is blue." is not
            clause = {w.casefold() for w in _TOKEN.findall(text[start : tok.start()])}
            return tok.end() if clause <= _ABOUT else None
        if t not in "'’":
            return None
    return None if final else "partial"


_ABOUT: Final = frozenset(
    {
        "my", "previous", "earlier", "last", "answer", "statement", "response", "reply", "claim", "above",
        "about", "both", "there", "here", "that", "this", "it", "the", "time", "date", "number", "part",
        "one", "again",
    }
)


def _skip_punctuation(text: str, i: int) -> int:
    """Past the opener's own punctuation and emphasis ("Correction:**", "Wait —", "Oops!"), not
    the whitespace after it."""
    while True:
        j = i
        while j < len(text) and text[j].isspace():
            j += 1
        if j < len(text) and (text[j] in ",:;—–-!." or text[j] in _EMPHASIS):
            while j < len(text) and (text[j] in ",:;—–-!." or text[j] in _EMPHASIS):
                j += 1
            i = j
            continue
        return i


__all__ = ["STRONG_WINDOW", "WEAK_WINDOW", "RuleDetector"]
