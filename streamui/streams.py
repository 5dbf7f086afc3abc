"""Starting a stream and recording its end: the part both transports (WebSocket, SSE) share.

`start_stream` validates a prompt, stores the turn, builds the generation and hands it
to the hub; `render_entry` turns a journal entry into the frame a given widget shows.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone
from markupsafe import Markup

from . import fragments
from .ab import choose_policy, choose_strategy
from .answer_schema import response_format
from .extensions import json_schema, json_widgets
from .conf import get_settings
from .conversations import Owner, afind_conversation, ahistory, anew_conversation
from .generation import Generation, GenerationResult
from .hub import Finalize, get_hub
from .journal import Entry
from .limits import StartRateLimiter
from .models import ChatMessage, Conversation, StreamRecord
from .observability import log_stream_event, observe_stream
from .outbox import Sink
from .pipeline.commit import CommitStage
from .pipeline.corrections import PhraseDetector
from .pipeline.smoothing import make_strategy, strategy_names
from .overload import refuse_when_busy
from .protocol import ClientMessage, ProtocolError
from .stats import percentile
from .upstream.base import ChatRequest, Message
from .upstream.registry import default_upstream_name, get_upstream
from .upstream.traces import TraceRecorder

CUT_OFF = "The answer reached the token limit (max_tokens) and was cut off."

_END_TO_STATUS = {
    "done": ChatMessage.Status.COMPLETE,
    "stopped": ChatMessage.Status.STOPPED,
    "disconnected": ChatMessage.Status.INTERRUPTED,
    "error": ChatMessage.Status.INTERRUPTED,
}
_END_TO_STATE = {"done": "done", "stopped": "stopped", "disconnected": "interrupted", "error": "interrupted"}

_rate_limiter: StartRateLimiter | None = None


def rate_limiter() -> StartRateLimiter:
    global _rate_limiter
    per_minute = get_settings().max_starts_per_minute
    if _rate_limiter is None or _rate_limiter.per_minute != per_minute:
        _rate_limiter = StartRateLimiter(per_minute=per_minute)
    return _rate_limiter


def owner_key(owner: Owner) -> str:
    return f"user:{owner.user_id}" if owner.user_id is not None else f"session:{owner.session_key}"


@dataclass(frozen=True, slots=True)
class StartedStream:
    stream_id: str
    conversation: Conversation
    user_message: ChatMessage
    answer: ChatMessage
    mode: str
    lanes: tuple[str, ...]

    def turn_html(self) -> Markup:
        """The new user turn and the empty answer the stream will fill."""
        return fragments.user_turn(self.user_message.pk, self.user_message.content) + fragments.assistant_turn(
            self.answer.pk, mode=self.mode, lanes=self.lanes)


async def start_stream(owner: Owner, msg: ClientMessage) -> StartedStream:
    """Validate, store the turn, and start generating; ProtocolError says what was wrong."""
    config = get_settings()
    prompt = msg.prompt.strip()
    if not prompt:
        raise ProtocolError("Type a message first.")
    if len(prompt) > config.max_prompt_chars:
        raise ProtocolError(f"That message is {len(prompt)} characters; the limit is {config.max_prompt_chars}.")
    key = owner_key(owner)
    hub = get_hub()
    refuse_when_busy(hub)  # MAX_STREAMS_PER_PROCESS (issue 9): before any database work
    if hub.active_for(key) >= config.max_concurrent_streams:
        raise ProtocolError("Too many answers are streaming at once: stop one or wait for it to finish.")
    if not rate_limiter().allow(key):
        raise ProtocolError("Too many messages in a minute: wait a moment and try again.")
    upstream_name = msg.upstream or default_upstream_name()
    try:
        upstream = get_upstream(upstream_name)
        assignment = choose_strategy(key, msg.strategy)
    except ValueError as exc:
        raise ProtocolError(str(exc)) from None
    strategies = [make_strategy(assignment.strategy)]
    if msg.compare:
        if msg.compare not in strategy_names():
            raise ProtocolError(f"unknown smoothing strategy {msg.compare!r}")
        strategies.append(make_strategy(msg.compare))
    try:
        policy_choice = choose_policy(key, msg.policy)
    except ValueError as exc:
        raise ProtocolError(str(exc)) from None
    policy = policy_choice.strategy
    mode = "json" if msg.output == "json" else "chat"

    conversation = await afind_conversation(owner, msg.conversation) if msg.conversation else None
    if conversation is None:
        conversation = await anew_conversation(owner, title=prompt[:80])
    history = await ahistory(conversation)
    user_msg = await ChatMessage.objects.acreate(conversation=conversation, role="user", content=prompt)
    answer = await ChatMessage.objects.acreate(conversation=conversation, role="assistant", mode=mode,
                                               status=ChatMessage.Status.STREAMING)
    await conversation.asave(update_fields=["updated_at"])

    profile = upstream_name.split(":", 1)[1] if upstream_name.startswith("simulated:") else ""
    if mode == "json" and profile:
        profile = "json"
    request = ChatRequest(
        messages=[Message("system", config.system_prompt), *history, Message("user", prompt)],
        max_tokens=config.max_tokens,
        profile=profile or None,
        response_format=response_format(dict(json_schema())) if mode == "json" else None,
    )
    stream_id = secrets.token_urlsafe(18)
    record = await StreamRecord.objects.acreate(
        stream_id=stream_id, conversation=conversation, message=answer,
        session_key=owner.session_key or "", upstream=upstream_name, profile=profile,
        model=str(getattr(upstream, "model", "")), strategy=assignment.strategy, arm=assignment.arm,
        commit_policy=policy if mode == "chat" else "", policy_arm=policy_choice.arm if mode == "chat" else "",
        started_at=timezone.now(),
    )
    recorder = None
    if config.record_traces_dir:
        recorder = TraceRecorder(stream_id, asyncio.get_running_loop().time(), {"upstream": upstream_name})
    openers = config.correction_openers
    commit = CommitStage(policy, hold_ms=config.commit_hold_ms, hold_chars=config.commit_hold_chars,
                         first_hold_ms=config.commit_first_hold_ms,
                         detector=PhraseDetector(openers) if openers is not None else None) if mode == "chat" else None

    def build(sink: Sink) -> Generation:
        return Generation(
            upstream=upstream, request=request, strategies=strategies, mode=mode, commit=commit,
            schema=json_schema() if mode == "json" else None, widgets=json_widgets(),
            message_id=answer.pk, sink=sink,
            stream_id=stream_id, show_figures=True, figures_interval=config.figures_interval,
            recorder=recorder,
        )

    await hub.start(stream_id=stream_id, owner=key, generation=build, finalize=_finalizer(record, answer, recorder, prompt),
                    meta={"message": str(answer.pk)})
    log_stream_event("start", stream_id, upstream=upstream_name, strategy=assignment.strategy, arm=assignment.arm,
                     mode=mode, conversation=str(conversation.public_id))
    lanes = tuple(s.name for s in strategies) if len(strategies) > 1 else ("",)
    return StartedStream(stream_id, conversation, user_msg, answer, mode, lanes)


def _finalizer(record: StreamRecord, message: ChatMessage, recorder: TraceRecorder | None, prompt: str) -> Finalize:
    async def finalize(result: GenerationResult) -> Entry:
        metrics = result.metrics
        message.content = result.shown
        message.reasoning = result.reasoning
        message.tool_calls = result.tool_calls
        message.status = _END_TO_STATUS[result.end_reason]
        message.error = result.error.message if result.error else ""
        if result.end_reason == "done" and result.finish_reason == "length":
            # Cut off by max_tokens: as complete as the server went, not a complete answer.
            message.status = ChatMessage.Status.INTERRUPTED
            message.error = CUT_OFF
        record.end_reason = result.end_reason
        record.stop_received_at = result.stop_received_at
        record.first_upstream_token_ms = metrics.ms_since_start(metrics.first_upstream_token)
        record.first_reasoning_ms = metrics.ms_since_start(metrics.first_reasoning)
        record.first_visible_token_ms = metrics.ms_since_start(metrics.first_visible)
        record.duration_ms = round(metrics.elapsed() * 1000, 2)
        delay = metrics.completion_delay
        record.completion_delay_ms = None if delay is None else round(delay * 1000, 2)
        record.timeline = metrics.timeline()
        record.arrival_gaps_ms = [round(g * 1000, 2) for g in metrics.arrival_gaps]
        record.reveal_gaps_ms = [round(g * 1000, 2) for g in metrics.reveal_gaps]
        record.tokens_generated = result.tokens_generated
        record.tokens_generated_source = result.tokens_generated_source
        record.tokens_shown = result.tokens_shown
        record.chars_shown = metrics.chars_shown
        if result.commit is not None:
            holds = [h * 1000 for h in result.commit.stats.hold_delays()]
            record.hold_p50_ms, record.hold_p95_ms = percentile(holds, 50), percentile(holds, 95)
            record.hold_max_ms = max(holds) if holds else None
            record.corrections = result.commit.stats.corrections
        if result.error:
            record.error_kind, record.error_message = result.error.kind, result.error.message
        elif message.error == CUT_OFF:
            record.error_kind, record.error_message = "length", CUT_OFF
        await message.asave()
        await record.asave()
        observe_stream(record, widget=message.mode)
        if recorder is not None:
            recorder.save(Path(get_settings().record_traces_dir) / f"{record.stream_id}.jsonl")
        event = {"done": "end", "stopped": "stop", "disconnected": "cancel", "error": "failure"}[result.end_reason]
        log_stream_event(event, record.stream_id, end_reason=result.end_reason, tokens_generated=record.tokens_generated,
                         tokens_shown=record.tokens_shown, error=record.error_message or None)
        state = "interrupted" if message.status == ChatMessage.Status.INTERRUPTED else _END_TO_STATE[result.end_reason]
        # A failed upstream offers Retry: the same prompt again, as a new stream (never a silent re-bill).
        return Entry(seq=0, state=state, error=message.error, retry=prompt if result.error else "",
                     html=str(fragments.replace_mark(message.pk, message.status, message.error)))

    return finalize


ORPHANED = "The server running this answer restarted before it finished."


async def close_orphaned(stream_id: str, owner: Owner) -> Entry | None:
    """A stream the database says is running but no worker runs (its worker died):
    record it as interrupted, keeping what was saved, and say so."""
    record = await StreamRecord.objects.select_related("message").filter(
        stream_id=stream_id, **owner.stream_filter()).afirst()
    if record is None or record.message is None:
        return None
    message = record.message
    if message.status == ChatMessage.Status.STREAMING:
        message.status, message.error = ChatMessage.Status.INTERRUPTED, ORPHANED
        await message.asave(update_fields=["status", "error"])
        record.end_reason, record.error_kind, record.error_message = "error", "orphaned", ORPHANED
        await record.asave(update_fields=["end_reason", "error_kind", "error_message"])
        log_stream_event("failure", stream_id, error=ORPHANED)
    state = _END_TO_STATE.get(record.end_reason, "interrupted")
    if message.status == ChatMessage.Status.INTERRUPTED:
        state = "interrupted"
    return Entry(seq=0, state=state, error=message.error,
                 html=str(fragments.replace_mark(message.pk, message.status, message.error)))


def render_entry(entry: Entry, widget_id: str, stream_id: str) -> str:
    """A journal entry as the frame one widget shows: the stream's own fragments plus its
    widget-level status, error and figures."""
    parts: list[str] = [entry.html] if entry.html else []
    if entry.figures:
        parts.append(str(fragments.figures(widget_id, entry.figures)))
    if entry.state:
        parts.append(str(fragments.status(widget_id, entry.state, stream_id=stream_id)))
        if entry.error and entry.state == "interrupted":
            parts.append(str(fragments.error(widget_id, f"The answer was interrupted: {entry.error}",
                                             retry_prompt=entry.retry)))
    return "".join(parts)


__all__ = ["CUT_OFF", "StartedStream", "start_stream", "render_entry", "owner_key"]
