"""Each kind of answer end to end through the consumer, on the simulated upstream (fast)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from streamui.models import ChatMessage, StreamRecord
from streamui.testing.profiles import correction_rows
from streamui.testing.simulated import trace_for_request
from streamui.upstream.base import ChatRequest, Message
from streamui.widget import render_past_turn
from tools.loadgen.oob_dom import Page

from .test_consumer import as_shown, connect, frames_until, normalized, receive, send, shown

pytestmark = pytest.mark.django_db(transaction=True)

FAST = {"STREAMUI": {"SIMULATED_SPEED": 25.0, "MAX_TOKENS": 2000}}
PROMPT = "Can a minor sue or be sued?"


async def run(session_key: str, **values: Any) -> list[str]:
    with override_settings(**FAST):
        comm = await connect(session_key)
        await send(comm, prompt=PROMPT, conversation="", **values)
        frames = await frames_until(comm, r'data-state="(done|interrupted)"', timeout=30)
        await comm.disconnect()
    return frames


def expected_answer(profile: str) -> str:
    request = ChatRequest(messages=[Message("user", PROMPT)], max_tokens=2000)
    return trace_for_request(request, profile=profile).text


async def test_speculative_drafts_never_show_and_the_confirmed_text_does(session_key: str) -> None:
    frames = await run(session_key, upstream="simulated:speculative")
    _page, text = shown(frames)
    assert normalized(text) == as_shown(expected_answer("speculative"))
    message = await ChatMessage.objects.filter(role="assistant").aget()
    assert message.content == expected_answer("speculative")


async def test_corrections_are_replaced_with_a_revised_mark(session_key: str) -> None:
    frames = await run(session_key, upstream="simulated:corrections", policy="replace")
    _page, _text = shown(frames)
    html = "".join(frames)
    assert "streamui-revised-mark" in html and "streamui-revised-original" in html
    record = await StreamRecord.objects.aget()
    assert record.commit_policy == "replace" and record.corrections > 0
    assert record.hold_p95_ms is not None and record.hold_max_ms is not None
    message = await ChatMessage.objects.filter(role="assistant").aget()
    written = expected_answer("corrections")
    used = [r for r in correction_rows() if str(r["text"]).removesuffix(".") in written]
    assert any(r["label"] for r in used) and any(not r["label"] for r in used)
    # Corrections drawn from the corpus were taken back (most before anyone saw them), and the
    # look-alikes that retract nothing ("Sorry, I can't share its contents.") all stayed.
    assert any(r["label"] and str(r["retracted"]) not in message.content for r in used)
    for r in used:
        if not r["label"]:
            assert str(r["text"]).removesuffix(".") in message.content


async def test_corrections_annotated_are_struck_through(session_key: str) -> None:
    frames = await run(session_key, upstream="simulated:corrections", policy="annotate")
    assert "streamui-struck" in "".join(frames)


async def test_reasoning_is_kept_apart_with_a_thinking_indicator(session_key: str) -> None:
    frames = await run(session_key, upstream="simulated:reasoning")
    html = "".join(frames)
    assert "Thinking…" in html and "Thought for" in html
    page, text = shown(frames)
    assert "Let me restate" not in text
    reasoning = next(e for e in page.body.walk() if e.attrs.get("class") == "streamui-reasoning").text()
    assert reasoning.startswith("Let me restate")
    record = await StreamRecord.objects.aget()
    assert record.first_reasoning_ms is not None and record.first_visible_token_ms is not None
    assert record.first_reasoning_ms + 2500 < record.first_visible_token_ms * 25  # reasoning came seconds first (25x speed)
    message = await ChatMessage.objects.filter(role="assistant").aget()
    assert message.reasoning.startswith("Let me restate") and "Let me restate" not in message.content


async def test_structured_output_renders_widgets(session_key: str) -> None:
    frames = await run(session_key, upstream="simulated:steady", output="json")
    page, _ = shown(frames)
    message = await ChatMessage.objects.filter(role="assistant").aget()
    root = f"su-m{message.pk}-json"
    assert page.text_of(f"{root}--confidence") not in (None, "")
    answer = page.text_of(f"{root}--answer")
    assert answer and answer.startswith("In general")
    # The finished string is shown as markdown (no literal **), from the text that was stored.
    stored = json.loads(message.content)["answer"]
    assert message.mode == "json" and stored.startswith(answer[:60]) and "**" in stored and "**" not in answer
    html = "".join(frames)
    first_confidence = html.index(f'id="{root}--confidence"')
    assert first_confidence < html.rindex(f'id="{root}--answer" hx-swap-oob="beforeend"')  # before the answer finished


async def test_json_cut_off_keeps_the_valid_fields_with_an_error_badge(session_key: str) -> None:
    with override_settings(STREAMUI={"SIMULATED_SPEED": 25.0, "MAX_TOKENS": 60}):
        comm = await connect(session_key)
        await send(comm, prompt=PROMPT, conversation="", upstream="simulated:steady", output="json")
        frames = await frames_until(comm, r'data-state="interrupted"', timeout=30)
        await comm.disconnect()
    page, _ = shown(frames)
    message = await ChatMessage.objects.filter(role="assistant").aget()
    root = f"su-m{message.pk}-json"
    assert page.text_of(f"{root}--confidence")  # what was valid stays
    badge = [e for e in page.body.walk() if "su-json-error" in (e.attrs.get("class") or "")]
    assert len(badge) == 1 and "The JSON ended early at character" in badge[0].text()
    assert "Show raw output" in badge[0].text()  # the raw text is one click away
    assert message.status == "interrupted" and "cut off" in message.error
    assert 'data-status="interrupted"' in frames[-1]


async def test_tool_calls_render_as_a_card(session_key: str) -> None:
    frames = await run(session_key, upstream="simulated:tools")
    _page, text = shown(frames)
    assert "search_web" in "".join(frames)
    message = await ChatMessage.objects.filter(role="assistant").aget()
    assert message.tool_calls and message.tool_calls[0]["name"] == "search_web"
    assert json.loads(message.tool_calls[0]["arguments"])["sites"] == ["example.org", "example.com"]
    assert text.startswith("In general")


async def test_tool_call_cards_come_back_on_reload(session_key: str) -> None:
    """Review 4.18: the stored answer re-renders its tool-call cards, not only its text."""
    frames = await run(session_key, upstream="simulated:tools")
    live, _ = shown(frames)
    message = await ChatMessage.objects.filter(role="assistant").aget()
    again = Page(html=str(await sync_to_async(render_past_turn)(message)))
    for page in (live, again):
        card = next(e for e in page.body.walk() if "su-toolcall" in e.attrs.get("class", "").split())
        assert "search_web" in card.text() and "example.org" in card.text()
    state = next(e for e in again.body.walk() if "su-toolcall-state" in e.attrs.get("class", "").split())
    assert state.attrs["data-state"] == "done"


async def test_side_by_side_plays_one_stream_through_two_strategies(session_key: str) -> None:
    frames = await run(session_key, upstream="simulated:bursty", strategy="passthrough", compare="adaptive")
    page, _ = shown(frames)
    outputs = [e for e in page.body.walk() if e.attrs.get("data-streamui") == "output"]
    assert len(outputs) == 2
    assert normalized(outputs[0].text()) == normalized(outputs[1].text()) != ""
    assert await StreamRecord.objects.acount() == 1  # one upstream stream


async def test_unknown_policy_is_an_error_frame(session_key: str) -> None:
    with override_settings(**FAST):
        comm = await connect(session_key)
        await send(comm, prompt="hi", policy="erase-history")
        frame = await receive(comm)
        await comm.disconnect()
    assert "unknown correction policy" in frame


async def test_a_recorded_trace_replays_and_live_streams_can_be_recorded(session_key: str, tmp_path: Any) -> None:
    from streamui.upstream.traces import load_trace

    trace = "bench/traces/gpt4o/gpt4o-003.jsonl"
    with override_settings(STREAMUI={"SIMULATED_SPEED": 25.0, "REPLAY_TRACES": [trace],
                                     "RECORD_TRACES_DIR": str(tmp_path)}):
        comm = await connect(session_key)
        await send(comm, prompt="anything", conversation="", upstream="trace:gpt4o-003", strategy="passthrough")
        frames = await frames_until(comm, r'data-state="(done|interrupted)"', timeout=30)
        await comm.disconnect()
    _page, text = shown(frames)
    original = load_trace(trace).text
    assert normalized(text) == as_shown(original)
    record = await StreamRecord.objects.aget()
    recorded = load_trace(tmp_path / f"{record.stream_id}.jsonl")
    assert recorded.text == original  # the live stream, recorded in the trace format, replays the same text


async def test_policy_arms_are_assigned_and_recorded(session_key: str) -> None:
    with override_settings(STREAMUI={"SIMULATED_SPEED": 25.0, "MAX_TOKENS": 30,
                                     "POLICY_ARMS": {"replace": 1, "annotate": 1}}):
        comm = await connect(session_key)
        await send(comm, prompt="hi", conversation="", upstream="simulated:steady")
        await frames_until(comm, r'data-state="(done|interrupted)"', timeout=30)
        await comm.disconnect()
    record = await StreamRecord.objects.aget()
    assert record.policy_arm in ("replace", "annotate") and record.commit_policy == record.policy_arm


async def test_structured_output_asks_a_real_upstream_for_json_schema(session_key: str, fake_llm: Any) -> None:
    with override_settings(STREAMUI={"UPSTREAM_URL": fake_llm.base_url, "UPSTREAM_MODEL": "json",
                                     "MAX_TOKENS": 2000}):
        comm = await connect(session_key)
        await send(comm, prompt=PROMPT, conversation="", upstream="openai", output="json")
        await frames_until(comm, r'data-state="(done|interrupted)"', timeout=30)
        await comm.disconnect()
    assert fake_llm.records[0].response_format["type"] == "json_schema"
    assert fake_llm.records[0].response_format["json_schema"]["schema"]["properties"]["confidence"]
    message = await ChatMessage.objects.filter(role="assistant").aget()
    assert json.loads(message.content)["confidence"] > 0


async def test_correction_openers_are_configurable(session_key: str) -> None:
    with override_settings(STREAMUI={"SIMULATED_SPEED": 25.0, "MAX_TOKENS": 2000, "CORRECTION_OPENERS": ["Nope,"]}):
        comm = await connect(session_key)
        await send(comm, prompt=PROMPT, conversation="", upstream="simulated:corrections", policy="replace")
        await frames_until(comm, r'data-state="(done|interrupted)"', timeout=30)
        await comm.disconnect()
    record = await StreamRecord.objects.aget()
    message = await ChatMessage.objects.filter(role="assistant").aget()
    assert record.corrections == 0
    assert any(opener in message.content for opener in ("Actually, ", "Wait, ", "Correction: "))
