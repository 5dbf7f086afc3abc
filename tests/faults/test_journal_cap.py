"""Review 4.17: a reload after the journal's cap showed about half the answer, silently.

The cap is now sized from the answer cap (the answer is cut off before the journal trims), and a
replay that starts before what a trimmed journal still holds says so instead of showing less.
"""

from __future__ import annotations

from django.test import override_settings

from streamui.hub import get_hub, reset_hub
from streamui.journal import Entry, MemoryJournal


async def test_review_4_17_the_journal_cap_is_sized_from_the_answer_cap() -> None:
    with override_settings(STREAMUI={"MAX_ANSWER_CHARS": 150_000}):
        reset_hub()
        try:
            journal = get_hub().journal
            assert isinstance(journal, MemoryJournal)
            # Every entry reveals at least one character, so the answer cap comes first.
            assert journal.max_entries > 150_000
        finally:
            reset_hub()


async def test_review_4_17_a_replay_past_the_trimmed_start_says_so() -> None:
    journal = MemoryJournal(max_entries=100)
    for seq in range(1, 251):
        await journal.append("s", Entry(seq=seq, html=f"<p>{seq}</p>"))
    await journal.append("s", Entry(seq=251, state="done"))
    replay = [e async for e in journal.follow("s", 0)]
    assert replay[0].error and "no longer" in replay[0].error
    assert [e.seq for e in replay[1:]] == list(range(152, 252))
