"""Hostile websocket clients against the whole ASGI stack (demo.asgi.application).

The frames go through what a deployment runs: AllowedHostsOriginValidator, the cookie
and session middleware, AuthMiddlewareStack, the URL router, then ChatConsumer. The
fuzzer is Hypothesis, derandomized (the same 400 frames on every run) and with no
example database, so CI is deterministic and nothing is written to the repository.

Properties, for every frame:
- the server answers with an error fragment when the frame is not something it acts on,
  and a rejected frame starts nothing;
- the socket stays open, the consumer never raises, nothing is logged at ERROR;
- everything it sends is inert markup (no script, no handler attribute, no javascript: URL),
  and a prompt it accepts is echoed back as exactly the text that was sent;
- nothing of another session's stream reaches the fuzzer, and nothing the fuzzer does to
  that stream (resume, stop, timing) has any effect;
and, all along, a second well-behaved client on its own session gets every answer
streamed to the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import math
import re
import socket
import threading
from collections import Counter
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore
from django.test import override_settings
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from streamui.hub import get_hub, reset_hub
from streamui.models import StreamRecord
from streamui.pipeline.corrections import POLICIES
from streamui.pipeline.smoothing import strategy_names
from streamui.protocol import ACTIONS
from streamui.testing.profiles import PROFILES
from tests.browser.conftest import LiveSite
from tools.loadgen.wire_reader import decode, note_message

from .helpers import ENDED, PATH, assert_inert, next_frame, next_message, open_socket

T = TypeVar("T")

MAX_PROMPT_CHARS = 500
MAX_MESSAGE_BYTES = 16 * 1024  # small enough to fuzz past, big enough for 5000-digit numbers and deep nesting
FUZZ_STREAMUI = {
    "SIMULATED_SPEED": 50,
    "MAX_TOKENS": 40,
    "MAX_PROMPT_CHARS": MAX_PROMPT_CHARS,
    "MAX_MESSAGE_BYTES": MAX_MESSAGE_BYTES,
    "DISCONNECT_GRACE": 0.0,
    # 400 frames on one socket as fast as the harness sends them; the frame rate limit and the
    # new-conversation limit have their own tests (tests/faults/test_limits.py).
    "MAX_FRAMES_PER_SECOND": 1e6,
    "MAX_NEW_PER_MINUTE": 10_000,
    # The fuzzer starts many streams; the rate limit has its own test (tests/consumer/test_resume.py)
    # and here it would only turn every later send into the same error.
    "MAX_STARTS_PER_MINUTE": 100_000,
}
FIELD_LIMITS = {
    "action": 20,
    "conversation": 64,
    "upstream": 100,
    "strategy": 50,
    "compare": 50,
    "policy": 50,
    "output": 10,
    "stream": 64,
}
ERROR = re.compile(r'data-streamui="error"[^>]*>(.*?)</div>', re.DOTALL)
USER_TURN = re.compile(
    r'<article [^>]*data-role="user"><div class="streamui-text">(.*?)</div></article>', re.DOTALL
)


# --- sessions -----------------------------------------------------------------------------------


def new_session() -> str:
    session = SessionStore()
    session.save()
    assert session.session_key
    return session.session_key


def error_texts(replies: list[str]) -> list[str]:
    return [html.unescape(m).strip() for reply in replies for m in ERROR.findall(reply) if m.strip()]


# --- the frames ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """One websocket frame and what the server must do with it.

    expect: "error" (an error fragment answers it, nothing starts) or "any" (it may be acted on
    or refused, but the general properties hold). `victim`: put the well-behaved client's n-th
    stream id in the message's "stream" field; `own`: put the fuzzer's latest stream id there.
    """

    expect: str
    payload: str | bytes | dict[str, Any]
    victim: int | None = None
    own: bool = False
    label: str = ""

    def render(self, victims: list[str], own_stream: str) -> str | bytes:
        if not isinstance(self.payload, dict):
            return self.payload
        payload = dict(self.payload)
        if self.victim is not None:
            payload["stream"] = victims[self.victim % len(victims)]
        elif self.own:
            payload["stream"] = own_stream
        # allow_nan: NaN and Infinity are what a hostile client would send, and json.loads takes them.
        return json.dumps(payload, allow_nan=True)


HOSTILE = [
    '<script>alert("xss")</script>',
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    '<a href="javascript:alert(1)">x</a>',
    "</div></article><script>alert(1)</script>",
    "<iframe srcdoc='<script>alert(1)</script>'>",
    '<div hx-get="/admin/" hx-trigger="load">',
    "{{7*7}}",
    "${7*7}",
    "'; DROP TABLE streamui_chatmessage; --",
    "\u202egnp.exe",
    "\u0000",
    "\ufeff",
    "\u200b\u200d",
    "𝕏🤖👨‍👩‍👧",
    "e\u0301\u0301\u0301",
    "\r\n\r\n",
    "&lt;script&gt;",
    "&#60;script&#62;",
    "<!--",
    "]]>",
    "\\u003cscript\\u003e",
]
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.tuples(st.text(max_size=10), st.sampled_from(HOSTILE), st.text(max_size=10)).map("".join),
)
lone_surrogates = st.text(
    alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3
)
with_surrogates = st.tuples(st.text(max_size=5), lone_surrogates, st.text(max_size=5)).map("".join)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
not_a_string = st.one_of(
    st.booleans(),
    st.dictionaries(st.text(max_size=5), json_scalars, max_size=3),
    # htmx sends repeated fields as a list and the server takes the last: a list is bad when its last item is.
    st.tuples(
        st.lists(st.text(max_size=5), max_size=2),
        st.one_of(st.booleans(), st.just({}), st.lists(st.integers(), max_size=2)),
    ).map(lambda t: [*t[0], t[1]]),
)
other_fields = st.sampled_from([f for f in FIELD_LIMITS if f != "action"] + ["prompt"])
valid_upstreams = st.sampled_from(["", *(f"simulated:{name}" for name in PROFILES)])
valid_strategies = st.sampled_from(["", *strategy_names()])
valid_policies = st.sampled_from(["", *POLICIES])
stream_ids = st.one_of(
    st.text(max_size=64),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789-_", min_size=24, max_size=24),
)
victim_index = st.integers(0, 1000)


def raw_expectation(raw: str | bytes) -> str:
    """For random bytes or text: anything that is not a JSON object naming an action must be refused."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return "error"
    if not isinstance(data, dict) or ("action" not in data and "prompt" not in data):
        return "error"
    return "any"


def raw_frame(raw: str | bytes, label: str) -> Frame:
    return Frame(raw_expectation(raw), raw, label=label)


def nested(depth: int, shape: str) -> str:
    if shape == "list":
        return "[" * depth + "]" * depth
    if shape == "object":
        return '{"a":' * depth + "0" + "}" * depth
    return '{"action":"send","prompt":' + "[" * depth + '"x"' + "]" * depth + "}"


@st.composite
def too_long(draw: Any) -> Frame:
    name = draw(st.sampled_from([*FIELD_LIMITS, "prompt"]))
    if name == "prompt":  # over the user-facing limit: refused by start_stream, or by the parser past 4x
        prompt = "x" * draw(st.integers(MAX_PROMPT_CHARS + 1, MAX_PROMPT_CHARS * 4 + 50))
        return Frame("error", {"action": "send", "prompt": prompt}, label="long prompt")
    value = draw(
        st.text(
            alphabet=st.characters(codec="utf-8"),
            min_size=FIELD_LIMITS[name] + 1,
            max_size=FIELD_LIMITS[name] + 100,
        )
    )
    payload = {"action": draw(st.sampled_from(ACTIONS)), "stream": "x", name: value}
    return Frame("error", payload, label=f"long {name}")


@st.composite
def hostile_send(draw: Any) -> Frame:
    """A send a browser could make, with hostile text where text goes: it may start a stream."""
    prompt = draw(hostile_text)
    assume(0 < len(prompt.strip()) <= MAX_PROMPT_CHARS)
    payload = {
        "action": draw(st.sampled_from(["send", None])),  # no action: a prompt alone means send
        "prompt": prompt,
        "conversation": draw(
            st.one_of(st.just(""), st.uuids().map(str), hostile_text.filter(lambda s: len(s) <= 64))
        ),
        "upstream": draw(valid_upstreams),
        "strategy": draw(valid_strategies),
        "policy": draw(valid_policies),
        "output": draw(st.sampled_from(["", "text", "json", "<b>"])),
        "headers": draw(st.one_of(st.just({"HX-Request": "true"}), json_values)),
    }
    if payload["action"] is None:
        del payload["action"]
    return Frame("any", payload, label="hostile send")


@st.composite
def markup_in_a_name(draw: Any) -> Frame:
    """Markup where a name goes (upstream, strategy, compare, policy): refused, the error escaped."""
    name = draw(st.sampled_from(["upstream", "strategy", "compare", "policy"]))
    value = draw(st.sampled_from(HOSTILE[:8]))
    return Frame("error", {"action": "send", "prompt": "hello", name: value}, label=f"markup in {name}")


@st.composite
def bad_after(draw: Any) -> Frame:
    after = draw(
        st.one_of(
            st.integers(max_value=-1),
            st.integers(min_value=2**53),
            st.floats(),
            st.booleans(),
            st.none(),
            st.text(max_size=8),
            st.sampled_from(["-1", "1e3", "0x10", " 1", "\u00b2", "\u0661\u0662", "\uff11", "1" * 5000]),
            st.lists(st.integers(), max_size=2),
            st.just({"$gt": 0}),
        )
    )
    stream = draw(st.one_of(stream_ids, st.just(None)))
    payload = {"action": "resume", "after": after, **({"stream": stream} if stream is not None else {})}
    victim = draw(st.one_of(st.none(), victim_index)) if stream is not None else None
    return Frame("error", payload, victim=victim, label="resume with a bad after")


@st.composite
def someone_elses_stream(draw: Any) -> Frame:
    """Resume, stop or report timings for the other session's stream: refused as unknown."""
    action = draw(st.sampled_from(["resume", "stop", "timing"]))
    payload: dict[str, Any] = {"action": action, "stream": "?"}
    if action == "resume":
        payload["after"] = draw(st.integers(0, 50))
    if action == "timing":
        payload["timings"] = {"marks": draw(st.lists(st.floats(0, 1e4), max_size=5))}
    return Frame("error", payload, victim=draw(victim_index), label=f"{action} another session's stream")


@st.composite
def unknown_stream(draw: Any) -> Frame:
    action = draw(st.sampled_from(["resume", "timing"]))
    payload = {"action": action, "stream": draw(stream_ids), "timings": {"marks": [1.0]}}
    return Frame("error", payload, label=f"{action} an unknown stream")


@st.composite
def bad_timings(draw: Any) -> Frame:
    timings = draw(
        st.one_of(
            json_scalars,
            st.lists(json_scalars, max_size=3),
            st.fixed_dictionaries(
                {
                    "marks": st.one_of(
                        json_scalars,
                        st.lists(
                            st.one_of(st.booleans(), st.text(max_size=3), st.none(), st.just({})),
                            min_size=1,
                            max_size=4,
                        ),
                    )
                }
            ),
        )
    )
    assume(
        not (
            isinstance(timings, dict)
            and isinstance(timings.get("marks"), list)
            and all(isinstance(m, (int, float)) and not isinstance(m, bool) for m in timings["marks"])
        )
    )
    return Frame("error", {"action": "timing", "timings": timings}, own=True, label="bad timings")


@st.composite
def own_stream_actions(draw: Any) -> Frame:
    """What a page does with its own stream, with odd values: allowed either way."""
    action = draw(st.sampled_from(["stop", "resume", "timing", "new"]))
    payload: dict[str, Any] = {"action": action}
    if action == "resume":
        payload["after"] = draw(st.integers(0, 2**53 - 1))
    if action == "timing":
        payload["timings"] = {
            "marks": draw(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=5))
        }
    return Frame("any", payload, own=draw(st.booleans()), label=f"own {action}")


@st.composite
def surrogate_in_a_field(draw: Any) -> Frame:
    name = draw(st.sampled_from([*FIELD_LIMITS, "prompt"]))
    payload = {
        "action": draw(st.sampled_from(ACTIONS)),
        "prompt": "hi",
        "stream": "x",
        name: draw(with_surrogates),
    }
    return Frame("any", payload, label=f"lone surrogate in {name}")


def frames() -> st.SearchStrategy[Frame]:
    return st.one_of(
        st.text(max_size=200).map(lambda raw: raw_frame(raw, "text")),
        st.binary(max_size=200).map(lambda raw: raw_frame(raw, "binary")),
        st.just(Frame("error", b"", label="empty binary")),
        json_values.map(lambda value: raw_frame(json.dumps(value), "json value")),
        st.builds(
            nested,
            st.one_of(st.integers(2, 5000), st.sampled_from([100, 999, 1000, 1500, 3000, 6000])),
            st.sampled_from(["list", "object", "field"]),
        ).map(lambda raw: raw_frame(raw, "deep nesting")),
        st.integers(MAX_MESSAGE_BYTES + 1, MAX_MESSAGE_BYTES + 3000).map(
            lambda n: Frame("error", {"action": "stop", "pad": "x" * n}, label="oversized")
        ),
        st.builds(
            lambda action, name, value: Frame(
                "error", {"action": action, name: value}, label=f"{name} typed"
            ),
            st.sampled_from(ACTIONS),
            other_fields,
            not_a_string,
        ),
        not_a_string.map(lambda value: Frame("error", {"action": value}, label="action typed")),
        hostile_text.filter(lambda a: a not in ACTIONS and a != "").map(
            lambda action: Frame("error", {"action": action}, label="unknown action")
        ),
        st.sampled_from(
            [
                {},
                {"action": "send"},
                {"prompt": ""},
                {"prompt": " \n\t "},
                {"action": "resume"},
                {"action": "timing"},
                {"action": "timing", "stream": "x"},
                {"action": None},
                {"action": "resume", "stream": None},
            ]
        ).map(lambda p: Frame("error", p, label="missing")),
        too_long(),
        markup_in_a_name(),
        bad_after(),
        someone_elses_stream(),
        unknown_stream(),
        bad_timings(),
        hostile_send(),
        own_stream_actions(),
        surrogate_in_a_field(),
    )


# --- crashes this fuzzer found, now regression tests and explicit examples ------------------------

# Minimal reproductions: each killed the socket before its fix.
BUGS = [
    pytest.param("[" * 2000 + "]" * 2000, id="deep-nesting-RecursionError"),
    pytest.param('{"action": "resume", "stream": "x", "after": "\u00b2"}', id="after-superscript-ValueError"),
    pytest.param(
        '{"action": "resume", "stream": "x", "after": "' + "1" * 5000 + '"}',
        id="after-5000-digits-ValueError",  # int() refuses strings over 4300 digits (CVE-2020-10735)
    ),
    pytest.param('{"action": "send", "prompt": "hi \\ud800"}', id="surrogate-prompt-UnicodeEncodeError"),
    pytest.param('{"action": "resume", "stream": "\\ud800"}', id="surrogate-stream-UnicodeEncodeError"),
    pytest.param(
        '{"action": "timing", "stream": "\\udfff", "timings": {"marks": []}}',
        id="surrogate-timing-UnicodeEncodeError",
    ),
]


# --- the harness: a loop in a thread, so Hypothesis runs examples while both clients live ---------


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def close(self) -> None:
        async def cancel_the_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            self.run(cancel_the_rest(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Harness:
    fuzzer_key: str
    good_key: str
    victims: list[str] = field(default_factory=list)
    good_streams: list[tuple[str, str, int]] = field(default_factory=list)  # (stream, end state, text frames)
    own_stream: str = "none-yet"
    sent: int = 0
    reconnects: int = 0
    fuzzer: WebsocketCommunicator | None = None
    stop: asyncio.Event | None = None
    good: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.stop = asyncio.Event()
        self.good = asyncio.create_task(self._good_client(), name="good-client")
        while not self.victims:  # something to aim at before the fuzzer starts
            if self.good.done():
                self.good.result()
            await asyncio.sleep(0.01)

    async def _good_client(self) -> None:
        """A page that just chats: one prompt, its answer to the end, the next prompt."""
        assert self.stop is not None
        comm, connected, _ = await open_socket(self.good_key)
        assert connected
        try:
            n = 0
            while not self.stop.is_set():
                n += 1
                await comm.send_to(
                    text_data=json.dumps(
                        {
                            "action": "send",
                            "prompt": f"Why is the sky blue? ({n})",
                            "conversation": "",
                            "upstream": "simulated:steady",
                        }
                    )
                )
                stream, text_frames = "", 0
                while True:
                    raw = await comm.receive_from(timeout=15)
                    data = decode(raw, comm)
                    if "seq" not in data:
                        assert 'data-role="user"' in data["content"] and not error_texts([data["content"]]), (
                            f"the good client was refused: {raw}"
                        )
                        continue
                    if not stream:
                        stream = data["stream"]
                        self.victims.append(stream)  # live: the fuzzer aims at it while it streams
                    assert data["stream"] == stream
                    text_frames += "-out-" in data["content"]
                    ended = ENDED.search(data["content"])
                    if ended:
                        self.good_streams.append((stream, ended.group(1), text_frames))
                        break
                await asyncio.sleep(0.05)
        finally:
            await comm.disconnect()

    async def _socket(self) -> WebsocketCommunicator:
        if self.fuzzer is None:
            comm, connected, _ = await open_socket(self.fuzzer_key)
            assert connected
            self.fuzzer = comm
        return self.fuzzer

    async def exchange(self, frame: Frame) -> list[str]:
        """Send the frame, then a barrier frame; the fuzzer's replies (not journal frames) in between.

        If the frame started (or resumed) a stream of the fuzzer's own, its journal is read to the
        end first, so every example starts from the same state: a socket with nothing streaming
        (a failing example then fails again when Hypothesis replays it)."""
        assert self.good is not None
        if self.good.done():
            self.good.result()  # the well-behaved client failed: say how
        comm = await self._socket()
        raw = frame.render(self.victims, self.own_stream)
        self.sent += 1
        barrier = f"zz-barrier-{self.sent}-end"
        note_message(comm, raw)  # the turn frame leaves out the prompt it sent
        try:
            await comm.send_input(
                {"type": "websocket.receive", **({"bytes": raw} if isinstance(raw, bytes) else {"text": raw})}
            )
            await comm.send_input({"type": "websocket.receive", "text": json.dumps({"action": barrier})})
            replies: list[str] = []
            streaming = answered = False
            while streaming or not answered:
                data = decode(await next_message(comm), comm)
                text = data["content"]
                if "seq" in data:  # a journal frame of the fuzzer's own stream
                    assert data["stream"] not in self.victims, "another session's stream reached the fuzzer"
                    assert_inert(data["content"])
                    self.own_stream = data["stream"]
                    if 'data-state="streaming"' in data["content"]:
                        streaming = True
                    elif ENDED.search(data["content"]):
                        streaming = False
                    continue
                assert_inert(text)
                if barrier in text:
                    answered = True
                elif not answered:
                    replies.append(text)
            return replies
        except BaseException:
            self.fuzzer = None  # a crashed consumer: the next example gets a fresh socket
            self.reconnects += 1
            raise

    async def finish(self) -> None:
        assert self.stop is not None and self.good is not None
        self.stop.set()
        await asyncio.wait_for(self.good, 20)
        if self.fuzzer is not None:
            await self.fuzzer.disconnect()
        hub = get_hub()
        for stream_id in list(hub.streams):
            await hub.wait_ended(stream_id, 10)


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    reset_hub()  # a hub whose tasks live on this loop
    runner = LoopThread()
    try:
        yield runner
    finally:
        runner.close()
        reset_hub()  # and none left behind on a closed loop


@pytest.mark.django_db(transaction=True)
def test_hostile_frames_get_errors_and_everyone_else_keeps_being_served(
    loop_thread: LoopThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    labels: Counter[str] = Counter()
    with override_settings(STREAMUI=FUZZ_STREAMUI):
        harness = Harness(fuzzer_key=new_session(), good_key=new_session())
        loop_thread.run(harness.start())
        logged = [0]

        @settings(
            max_examples=400,
            deadline=None,
            derandomize=True,
            database=None,
            print_blob=True,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.data_too_large,
                HealthCheck.filter_too_much,
                HealthCheck.large_base_example,
            ],
        )
        @given(frame=frames())
        @example(frame=Frame("any", {"action": "timing", "timings": {"marks": [1.0, math.inf]}}, own=True))
        @example(frame=Frame("any", {"action": "timing", "timings": {"marks": [math.nan]}}, own=True))
        @example(frame=Frame("any", BUGS[0].values[0]))
        @example(frame=Frame("any", BUGS[1].values[0]))
        @example(frame=Frame("any", BUGS[2].values[0]))
        @example(frame=Frame("any", BUGS[3].values[0]))
        @example(frame=Frame("any", BUGS[4].values[0]))
        @example(frame=Frame("any", BUGS[5].values[0]))
        def fuzz(frame: Frame) -> None:
            raw = frame.render(harness.victims, harness.own_stream)
            event(frame.label)
            labels[frame.label.split(" ", 1)[0] if frame.label.endswith("typed") else frame.label] += 1
            replies = loop_thread.run(harness.exchange(frame))
            errors = error_texts(replies)
            if frame.expect == "error":
                assert errors, f"{frame.label}: no error fragment answered {raw!r:.300}; got {replies!r:.300}"
                assert not any('data-role="user"' in r for r in replies), (
                    f"{frame.label}: a refused frame started a turn"
                )
            turns = [html.unescape(m) for r in replies for m in USER_TURN.findall(r)]
            if turns:  # a prompt comes back as exactly the text that was sent
                assert turns == [str(json.loads(raw)["prompt"]).strip()], (
                    f"{frame.label}: the prompt came back changed"
                )
                labels["(started a stream)"] += 1
            records = caplog.records[logged[0] :]
            logged[0] = len(caplog.records)
            failures = [r.getMessage() for r in records if r.levelno >= logging.ERROR]
            assert not failures, f"{frame.label}: the server logged errors: {failures}"

        fuzz()
        loop_thread.run(harness.finish())

    # The well-behaved client was served all along: every answer streamed to its end.
    assert len(harness.good_streams) >= 3, harness.good_streams
    assert all(text_frames > 0 for _, _, text_frames in harness.good_streams), harness.good_streams
    records = {r.stream_id: r for r in StreamRecord.objects.filter(stream_id__in=harness.victims)}
    for stream_id, state, _ in harness.good_streams:
        record = records[stream_id]
        # max_tokens (40) cuts the simulated answer: that is "done" upstream, shown as cut off.
        assert record.end_reason == "done" and record.error_kind in ("", "length"), (state, record.error_kind)
        assert not record.client_timings  # the fuzzer's "timing" for this stream never landed
    assert harness.reconnects == 0
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    print(
        f"fuzzed {harness.sent} frames; {len(harness.good_streams)} answers served alongside; "
        f"kinds: {dict(labels.most_common())}"
    )


# --- the crashes above, one frame each -------------------------------------------------------------


@pytest.fixture
def fuzz_settings() -> Iterator[None]:
    with override_settings(STREAMUI=FUZZ_STREAMUI):
        yield


async def answer_to(raw: str) -> str:
    """What one frame gets from a fresh socket: its first reply, or the exception the consumer raised."""
    session = SessionStore()
    await session.asave()
    comm, connected, _ = await open_socket(session.session_key)
    assert connected
    await comm.send_to(text_data=raw)
    try:
        return await next_frame(comm, timeout=5)
    finally:
        with contextlib.suppress(BaseException):
            await comm.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("raw", BUGS)
async def test_frames_that_crashed_the_consumer_get_an_error(fuzz_settings: None, raw: str) -> None:
    assert 'data-streamui="error"' in await answer_to(raw)


# --- the Origin check ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "origin",
    [
        b"http://evil.example",
        b"https://evil.example:443",
        b"http://127.0.0.1.evil.example",
        b"http://localhost.evil.example:8000",
        b"http://127.0.0.1@evil.example",
        b"null",
        b"file://",
        b"",
    ],
)
async def test_a_foreign_origin_is_refused(origin: bytes) -> None:
    session = SessionStore()
    await session.asave()
    _, connected, code = await open_socket(session.session_key, origin=origin)
    # channels' WebsocketDenier closes before accepting: an ASGI server turns that into an HTTP 403
    # refusal of the handshake (see the Daphne test below); the communicator reports it as a close.
    assert not connected and code == 1000


@pytest.mark.django_db(transaction=True)
async def test_no_origin_header_is_refused() -> None:
    # Browsers always send Origin on a websocket handshake, so a missing one is a non-browser
    # client. channels' OriginValidator treats "no Origin" as invalid unless ALLOWED_HOSTS has "*"
    # (OriginValidator.valid_origin: `parsed_origin is None and "*" not in allowed_origins`):
    # the connection is refused like a foreign origin.
    session = SessionStore()
    await session.asave()
    _, connected, code = await open_socket(session.session_key, origin=None)
    assert not connected and code == 1000


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("origin", [b"http://127.0.0.1:8000", b"HTTP://127.0.0.1:8000", b"http://127.0.0.1:8000/"])
async def test_the_sites_own_origins_are_accepted(origin: bytes) -> None:
    session = SessionStore()
    await session.asave()
    comm, connected, _ = await open_socket(session.session_key, origin=origin)
    assert connected  # so the refusals above are about the origin, not the test's plumbing
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("origin", [b"http://127.0.0.1", b"http://127.0.0.1:8001", b"https://127.0.0.1:8000",
                                    b"https://127.0.0.1", b"http://localhost:8000"])
async def test_review_1_10_same_host_other_port_or_scheme_is_refused(origin: bytes) -> None:
    # The host is in ALLOWED_HOSTS, but the page on another port or scheme is another origin.
    session = SessionStore()
    await session.asave()
    comm, connected, _ = await open_socket(session.session_key, origin=origin)
    if connected:
        output = await comm.receive_output(timeout=2)
        assert output["type"] == "websocket.close", output
    await comm.disconnect()


def handshake(site: LiveSite, origin: str | None) -> str:
    """The status line Daphne answers a websocket upgrade with."""
    host, port = site.url.removeprefix("http://").split(":")
    request = (
        f"GET {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + (f"Origin: {origin}\r\n" if origin is not None else "")
        + "\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request.encode())
        return sock.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def test_daphne_refuses_the_handshake_of_a_foreign_origin(fast_site: LiveSite) -> None:
    assert handshake(fast_site, "http://evil.example").startswith("HTTP/1.1 403")
    assert handshake(fast_site, None).startswith("HTTP/1.1 403")
    assert handshake(fast_site, fast_site.url).startswith("HTTP/1.1 101")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "mark",
    [
        "Infinity",
        "-Infinity",
        "NaN",
        # Not a constant: a number too big for a float, which json reads as inf.
        "1e400",
        "-1e999",
    ],
)
async def test_non_finite_timing_marks_are_refused(fuzz_settings: None, mark: str) -> None:
    session = SessionStore()
    await session.asave()
    comm, connected, _ = await open_socket(session.session_key)
    assert connected
    await comm.send_to(
        text_data=json.dumps({"action": "send", "prompt": "hi", "upstream": "simulated:steady"})
    )
    stream = ""
    while True:
        data = decode(await next_message(comm), comm)
        if "seq" in data:
            stream = data["stream"]
            if ENDED.search(data["content"]):
                break
    # Python's json reads the NaN and Infinity literals and overflows 1e400 to inf: a client can send
    # any of them as marks of its own stream, and the record's JSON column must stay valid JSON.
    await comm.send_to(
        text_data=f'{{"action": "timing", "stream": "{stream}", "timings": {{"marks": [1.5, {mark}]}}}}'
    )
    await comm.send_to(text_data='{"action": "zz-after-timing"}')
    while "zz-after-timing" not in await next_frame(comm):  # raises what the consumer raised
        pass
    await comm.disconnect()
    record = await StreamRecord.objects.aget(stream_id=stream)
    assert all(math.isfinite(m) for m in (record.client_timings or {}).get("marks", []))
