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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, cast

from .corrections import PENDING, Detection, OpenerMatch

Kind = Literal["strong", "actually", "wait", "hmm", "mean", "sorry", "no"]

STRONG_WINDOW: Final = 2
"""Words after a strong opener needed before deciding (to tell a fragment correction)."""
WEAK_WINDOW: Final = 6
"""Words after an ambiguous opener needed (or the end of its sentence)."""
WINDOWS: Final[dict[str, int]] = {"strong": STRONG_WINDOW, "actually": 4, "wait": 4}
"""Per kind, where fewer words decide ("Actually,"/"Wait," are rejected by their first words)."""

_TOKEN: Final = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[^\w\s]")
_SENTENCE_END: Final = re.compile(r"[.!?…]+[\"'”’)\]*_]*(?=\s|$)")
_QUOTES: Final = "\"'“”‘’`«»„"
_EMPHASIS: Final = "*_"


def _slots(pattern: str) -> tuple[tuple[frozenset[str], bool], ...]:
    """"wait ,|—" -> ((wait), (",", "—")); a trailing "?" makes a slot optional; "_" is any word."""
    out = []
    for slot in pattern.split():
        optional = slot.endswith("?") and len(slot) > 1
        slot = slot[:-1] if optional else slot
        out.append((frozenset(slot.split("|")), optional))
    return tuple(out)


_DASH: Final = ",|—|–|-|:"
# Openers that retract by themselves (after an optional weak prefix such as "Wait,").
_STRONG: Final = tuple(
    _slots(p)
    for p in (
        "correction :|—|–|-",
        "scratch that",
        "strike that",
        "let me correct myself|that|this",
        "to correct myself|that",
        "i stand corrected",
        "so? i was wrong|mistaken|incorrect",
        "i misspoke|misread|miscounted|miscalculated|misremembered|misstated",
        "i made a|an mistake|error|typo",
        "my mistake|bad|error",
        "oops|whoops ,|!? i meant|mean",
        "oops",
        "whoops",
        "on second thought|thoughts",
        "let me rephrase|revise|reconsider",
        "no ,? wait",
        "wait ,|—|–|- no",
        "actually ,|— no",
        "that's wrong|incorrect|false",
        "that is|was wrong|incorrect|false",
        "that's not right|correct|true",
        "that is|was not right|correct|true",
        "that isn't|wasn't right|correct|true",
        "i got that|it|this wrong",
        "i got _ _? wrong",
        "i meant to say",
        "i meant",
        "sorry ,? i meant|mean|misspoke",
        "no , i meant|mean",
        "er|um|uh ,? i meant|mean",
    )
)
# Prefixes that may stand in front of a strong opener ("Wait, let me correct that:").
_PREFIXES: Final = tuple(
    _slots(p)
    for p in (
        "wait ,|—|–|-", "actually ,", "hmm ,", "oh ,", "sorry ,", "apologies ,", "um ,", "er ,", "oops ,|!",
        "whoops ,|!",
    )
)
# Ambiguous openers and the family that judges them.
_WEAK: Final = tuple(
    (_slots(p), kind)
    for p, kind in (
        ("actually ,|—", "actually"),
        ("wait ,|—|–|-", "wait"),
        ("hold on ,|—", "wait"),
        ("hang on ,|—", "wait"),
        ("hmm ,|…|—", "hmm"),
        ("i mean ,|—?", "mean"),
        ("sorry ,|—", "sorry"),
        ("i'm sorry ,", "sorry"),
        ("apologies ,", "sorry"),
        ("my apologies ,?", "sorry"),
        ("i apologize ,?", "sorry"),
        ("i apologise ,?", "sorry"),
        ("no ,", "no"),
    )
)


def _first_words(patterns: tuple[tuple[tuple[frozenset[str], bool], ...], ...]) -> set[str]:
    out: set[str] = set()
    for slots in patterns:
        for words, optional in slots:
            out |= words
            if not optional:
                break
    return out


_FIRST_WORDS: Final = frozenset(
    _first_words(_STRONG) | _first_words(_PREFIXES) | _first_words(tuple(s for s, _ in _WEAK))
)

# --- what the previous sentence says ---------------------------------------------------

_BELIEF: Final = re.compile(
    r"\b(myths?|misconceptions?|popular belief|common belief|widely believed|commonly believed|often said"
    r"|it is said|it's said|legend has it|you may have heard|you might have heard|you might think"
    r"|you'd think|you may think|at first glance|on the surface)\b"
    r"|\b(people|many|most|some|everyone|everybody|folks|they|parents|others|users|critics|you)\b"
    r"[^.?!]*\b(think|thinks|believe|believes|assume|assumes|say|says|said|claim|claims|imagine"
    r"|expect|expects|wrote|write|mentioned|asked|suggested)\b"
)
_LABEL: Final = re.compile(
    r"^\W*(original( input| text| sentence)?|incorrect|before|input|you wrote|you said)\b"
    r"|\byour (sentence|text|essay|draft|paragraph|question)\b"
)
# No claim to retract: pleasantries and announcements ("Here is what I found.").
_META: Final = re.compile(
    r"\b(great|good|excellent|interesting|fair|nice) (question|point|catch)\b"
    r"|^\W*(sure|of course|certainly|absolutely|okay|ok|thanks|thank you|hi|hello|hey|great)\W*$"
    r"|^\W*(here is|here's|here are|below is|below are|the following|let me explain|let's look)\b"
)

# --- what the window after the opener says ------------------------------------------

_CONFIRM: Final = re.compile(
    r"^(yes|yeah|yep|indeed)\b|\b(that's|that is|it's|it is) (right|correct|true|a fact)\b"
    r"|\b(is|are) (correct|right)\b|\bconfirms?\b|\bchecks out\b"
)
_EXTENSION: Final = re.compile(
    r"\b(also|too|as well|even|another)\b|^(there's|there is|there are) (a|an|more|one|some)\b"
    r"|^that's not all\b"
)
_VERIFY: Final = re.compile(r"^(let me|let's|lemme|i need to|i should|i'll|i will|we need|we should|first)\b")
_QUESTION: Final = re.compile(
    r"^(what|why|how|who|where|when|which|is|are|was|were|did|do|does|had|has|have|could|can|should"
    r"|would|will)\b"
)
_INSTRUCTION: Final = re.compile(r"^(then|and then|for|until|a (moment|second|minute|bit|few))\b")
_MENTION: Final = re.compile(r"\b(means|meaning|refers to|stands for)\b")
_SPEECH: Final = re.compile(r"^(said|says|asked|whispered|shouted|replied|cried|muttered|added)\b")
_RETRACTS: Final = re.compile(
    r"\b(not|no|isn't|wasn't|aren't|doesn't|don't|wrong|incorrect|mistaken|mistake|error|misspoke"
    r"|meant|i mean|confusion|oversight|typo|mix-?up|should be|should have)\b|n't\b"
)
_REFUSAL: Final = re.compile(
    r"^(but|i can't|i cannot|i can not|i'm unable|i am unable|i won't|i don't|i do not|i'm not able"
    r"|i am not able|to hear|about that|for (the|any|your) (inconvenience|delay|wait|trouble|hassle|loss))\b"
)
_INTENSIFIER: Final = frozenset(
    {"really", "truly", "seriously", "literally", "honestly", "come", "who", "what", "how", "why", "look",
     "like", "yes", "yeah", "wow", "very", "totally", "absolutely"}
)
_VERB: Final = re.compile(
    r"\b(is|are|was|were|be|been|am|has|have|had|do|does|did|can|could|will|would|should|must|may|might"
    r"|shall)\b|['’](s|re|m|ll|ve|d)\b|n't\b|=",
)
_NUMBER_WORDS: Final = frozenset(
    {
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred",
        "thousand", "million", "billion", "first", "second", "third", "fourth", "fifth", "sixth",
        "seventh", "eighth", "ninth", "tenth", "half",
    }
)
_PAIRS: Final = tuple(
    frozenset(g.split())
    for g in (
        "left right",
        "before after",
        "more less fewer",
        "higher lower",
        "increase decrease",
        "true false",
        "always never",
        "north south east west",
        "monday tuesday wednesday thursday friday saturday sunday",
        "january february march april june july august september october november december",
        "am pm",
    )
)


@dataclass(frozen=True, slots=True)
class _Tok:
    text: str
    start: int
    end: int

    @property
    def low(self) -> str:
        return self.text.casefold().replace("’", "'")


def _tokens(text: str, start: int = 0, limit: int = 64) -> list[_Tok]:
    out: list[_Tok] = []
    for m in _TOKEN.finditer(text, start):
        out.append(_Tok(m.group(), m.start(), m.end()))
        if len(out) >= limit:
            break
    return out


_Match = int | Literal["partial"] | None


def _match(slots: tuple[tuple[frozenset[str], bool], ...], toks: list[_Tok], i: int, complete: int) -> _Match:
    """Index after `slots` matched from toks[i], "partial" if more tokens could complete it, or None.

    `complete`: how many of `toks` are known whole (the last one may still grow); -1: the text is
    final (all tokens are whole and no more will come)."""
    if not slots:
        return i
    words, optional = slots[0]
    if complete < 0:
        if i >= len(toks):
            return i if all(opt for _, opt in slots) else None
    elif i >= complete:
        if i < len(toks):  # an unfinished word: could it become one of these?
            low = toks[i].low
            if any(w.startswith(low) for w in words) or "_" in words:
                return "partial"
            return _match(slots[1:], toks, i, complete) if optional else None
        return "partial"
    low = toks[i].low
    hit = low in words or ("_" in words and low[:1].isalnum())
    results: list[_Match] = []
    if hit:
        results.append(_match(slots[1:], toks, i + 1, complete))
    if optional:
        results.append(_match(slots[1:], toks, i, complete))
    if "partial" in results:
        return "partial"
    ends = [r for r in results if isinstance(r, int)]
    return max(ends) if ends else None


def _best(
    patterns: tuple[tuple[tuple[frozenset[str], bool], ...], ...], toks: list[_Tok], i: int, complete: int
) -> _Match:
    partial = False
    best: int | None = None
    for slots in patterns:
        r = _match(slots, toks, i, complete)
        if r == "partial":
            partial = True
        elif isinstance(r, int) and (best is None or r > best):
            best = r
    if partial:
        return "partial"
    return best


def _value_swap(previous: str, window: list[_Tok]) -> bool:
    """Does the window bring a value of a kind the previous sentence has, but a different one?"""
    prev = _tokens(previous, 0, 200)
    prev_low = {t.low for t in prev}
    prev_nums = {t.low for t in prev if _is_number(t.low)}
    prev_caps = {t.text for t in prev[1:] if t.text[:1].isupper() and t.text != "I"}
    for k, tok in enumerate(window):
        low = tok.low
        if low in prev_low:
            continue
        if prev_nums and _is_number(low):
            return True
        if prev_caps and k > 0 and tok.text[:1].isupper() and tok.text not in prev_caps and tok.text != "I":
            return True
        if any(low in g and prev_low & (g - {low}) for g in _PAIRS):
            return True
    return False


def _is_number(low: str) -> bool:
    return low[:1].isdigit() or low in _NUMBER_WORDS


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


_HMM_RETRACTS: Final = re.compile(r"\b(wrong|incorrect|mistake|not right|isn't right|doesn't seem right)\b")


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
