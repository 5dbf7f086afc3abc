"""The plain-Python guards behind the fault tests, case by case (no processes, no Django).

Origins are the review's 1.9 / 1.10 list, surrogates its 3.8 / 3.9 chunks, and admission its
2.10 race in one step.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamui.admission import AdmissionRefused, LocalAdmission
from streamui.conversations import bound_history
from streamui.socket_guard import ByteWindow, LogLimiter, TokenBucket, origin_allowed, split_fragments
from streamui.upstream.base import Message
from streamui.upstream_guard import SurrogateRepair, clean_text

HOST = "127.0.0.1:8000"


@pytest.mark.parametrize("origin", ["http://127.0.0.1:8000", "HTTP://127.0.0.1:8000", "http://127.0.0.1:8000/"])
def test_review_1_10_the_pages_own_origin_is_allowed(origin: str) -> None:
    assert origin_allowed(origin, scheme="ws", host=HOST)


@pytest.mark.parametrize("origin", [
    "http://127.0.0.1:18199", "https://127.0.0.1:8000", "https://127.0.0.1", "http://127.0.0.1",  # 1.10
    "http://evil.example", "null", "http://127.0.0.1.evil.example", "http://evil.example#@127.0.0.1",  # 1.9
    "http://localhost.evil.example", "file://", "http://0x7f000001:8000", "http://127.1:8000",
    "http://127.0.0.1:8000\r\nX: y", "", "http://user@127.0.0.1:8000", "javascript://127.0.0.1:8000",
])
def test_review_1_9_1_10_other_origins_are_refused(origin: str) -> None:
    assert not origin_allowed(origin, scheme="ws", host=HOST)


def test_review_1_10_tls_and_listed_origins() -> None:
    assert origin_allowed("https://chat.example.org", scheme="wss", host="chat.example.org")
    assert not origin_allowed("http://chat.example.org", scheme="wss", host="chat.example.org")
    assert origin_allowed("https://app.example.org", scheme="wss", host="chat.example.org",
                          allowed=["https://app.example.org:443"])


def test_review_3_9_an_emoji_split_across_chunks_is_joined() -> None:
    repair = SurrogateRepair()
    pieces = [repair.feed("text", chunk) for chunk in ("Smile \ud83d", "\ude00 and a lone ", "\ud800 done.")]
    assert "".join(pieces) == "Smile \U0001F600 and a lone \ufffd done."
    "".join(pieces).encode("utf-8")  # storable


def test_review_3_8_lone_surrogates_anywhere_become_replacement_characters() -> None:
    assert clean_text("a\udfffb\ud800") == "a\ufffdb\ufffd"
    repair = SurrogateRepair()
    assert repair.feed("text", "end\ud83d") == "end"
    assert repair.flush() == {"text": "\ufffd"}


def test_review_4_10_frames_split_between_top_level_fragments() -> None:
    fragments = ['<div id="a" hx-swap-oob="beforeend"><p>' + "x" * 300 + "</p></div>",
                 '<span id="b"><br></span>', '<input id="c" value="1">']
    parts = split_fragments("".join(fragments), 320)
    assert "".join(parts) == "".join(fragments)
    assert parts[0] == fragments[0] and parts[1] == fragments[1] + fragments[2]


def test_review_2_10_admission_takes_a_slot_in_one_step() -> None:
    admission = LocalAdmission()
    limits = [("owner", "session:a", 3), ("address", "addr:203.0.113.7", 5)]
    slots = [admission.take(f"s{i}", limits) for i in range(3)]
    with pytest.raises(AdmissionRefused) as refused:
        admission.take("s3", limits)
    assert refused.value.scope == "owner"
    admission.release(slots[0])
    admission.take("s4", limits)
    for i in range(2):
        admission.take(f"b{i}", [("owner", "session:b", 3), ("address", "addr:203.0.113.7", 5)])
    with pytest.raises(AdmissionRefused) as refused:
        admission.take("b2", [("owner", "session:b", 3), ("address", "addr:203.0.113.7", 5)])
    assert refused.value.scope == "address"


def test_review_2_7_2_8_2_15_buckets_windows_and_log_limits() -> None:
    now = [0.0]
    bucket = TokenBucket(10, 20, clock=lambda: now[0])
    assert sum(bucket.take() for _ in range(100)) == 20
    now[0] = 1.0
    assert sum(bucket.take() for _ in range(100)) == 10
    window = ByteWindow(1000, 10, clock=lambda: now[0])
    assert window.add(900) and not window.add(200)
    now[0] = 20.0
    assert window.add(900)
    logs = LogLimiter(5, 10, clock=lambda: now[0])
    assert sum(logs.allow() for _ in range(100)) == 5 and logs.suppressed == 95


def test_review_4_11_history_keeps_the_newest_turns_within_the_budget() -> None:
    long_answer = Message("assistant", "word " * 5000)
    history = [Message("user", "first question"), long_answer, Message("user", "second question")]
    bounded = bound_history(history, 100)
    assert bounded[-1] == Message("user", "second question")
    assert bounded[0].role == "assistant" and bounded[0].content.startswith("[earlier part cut]")
    assert len(bounded[0].content) < 600
    assert bound_history(history, 100_000) == history


@given(st.lists(st.tuples(st.floats(0, 3), st.integers(0, 500)), max_size=200))
def test_byte_window_counts_the_last_window_within_one_slice(steps: list[tuple[float, int]]) -> None:
    now = [0.0]
    window = ByteWindow(10**9, 10, clock=lambda: now[0])
    sent: list[tuple[float, int]] = []
    for wait, size in steps:
        now[0] += wait
        window.add(size)
        sent.append((now[0], size))
        at_most = sum(n for t, n in sent if now[0] - t < 10)
        at_least = sum(n for t, n in sent if now[0] - t < 9)  # the slices are a tenth of the window
        assert at_least <= window._total <= at_most


@settings(max_examples=400)
@given(st.lists(st.text(max_size=12), max_size=60), st.integers(0, 80))
def test_the_token_cap_counts_every_chunk_once_in_runs_and_none_while_the_bytes_fit(
        chunks: list[str], cap: int) -> None:
    """Issue 9: the budget leaves chunks uncounted while the tokens counted plus the bytes waiting
    are within the cap (a token is at least a byte, so the waiting text is within it too), then
    counts what waits as one text: each chunk is counted once, in order, in runs of whole chunks,
    and the verdict is that count against the cap. (A run is tokenized as the model's text is,
    whole; counting chunk by chunk, as before, could differ either way: ":a" + "kv" is 2 tokens
    apart and 3 together.)"""
    from streamui import upstream_guard
    from streamui.upstream.tokens import count_tokens

    counted: list[str] = []

    def counting(text: str) -> int:
        counted.append(text)
        return count_tokens(text)

    budget = upstream_guard._Budget(cap, 10**9)
    for index, chunk in enumerate(chunks):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(upstream_guard, "count_tokens", counting)
            kept = budget.spend(chunk)
        so_far = "".join(chunks[: index + 1])
        done = "".join(counted)
        assert so_far.startswith(done)  # in order, none twice, none skipped
        waiting = so_far[len(done):]
        assert budget.tokens == sum(count_tokens(run) for run in counted)
        if waiting:
            assert budget.tokens + len(waiting.encode("utf-8", "surrogatepass")) <= cap and kept
        else:
            assert kept == (budget.tokens <= cap)
        if len(so_far.encode("utf-8", "surrogatepass")) <= cap:
            assert not counted  # no tiktoken at all while the bytes fit
