"""What the sentence before an opener and the words after it say.

The cues `correction_rules.RuleDetector` judges an opener by: whether the previous sentence
is a claim of the model's at all, and whether the window after the opener verifies, refuses,
adds or retracts (a negation, or a value that replaces one of the previous sentence).
"""

from __future__ import annotations

import re
from typing import Final

from .correction_openers import _Tok, _tokens

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
_HMM_RETRACTS: Final = re.compile(r"\b(wrong|incorrect|mistake|not right|isn't right|doesn't seem right)\b")
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
