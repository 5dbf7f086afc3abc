"""The opener phrases a self-correction starts with, and matching them word by word.

A pattern is a row of slots, each a set of words or punctuation (`_slots`); `_match` runs
one against the tokens of a text that may still be growing, and answers "partial" while
more text could complete it. `correction_rules.RuleDetector` decides with these what an
opener is; `correction_cues` judges its context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal["strong", "actually", "wait", "hmm", "mean", "sorry", "no"]

_TOKEN: Final = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[^\w\s]")


def _slots(pattern: str) -> tuple[tuple[frozenset[str], bool], ...]:
    """"wait ,|—" -> ((wait), (",", "—")); a trailing "?" makes a slot optional; "_" is any word."""
    out = []
    for slot in pattern.split():
        optional = slot.endswith("?") and len(slot) > 1
        slot = slot[:-1] if optional else slot
        out.append((frozenset(slot.split("|")), optional))
    return tuple(out)


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
