"""Starting a stream and recording its end: the part both transports (WebSocket, SSE) share.

`start_stream` validates a prompt, stores the turn, builds the generation and hands it
to the hub; `render_entry` turns a journal entry into the frame a given widget shows.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils import timezone
from markupsafe import Markup

from . import fragments
from .ab import choose_policy, choose_strategy
from .admission import AdmissionRefused
from .answer_schema import response_format
from .conf import get_settings
from .conversations import Owner, afind_conversation, ahistory, anew_conversation
from .extensions import json_schema, json_widgets
from .generation import Generation, GenerationResult
from .hub import JOURNAL_FAILED, Finalize, StreamStartError, get_hub
from .journal import Entry
from .limits import StartRateLimiter
from .models import ChatMessage, Conversation, StreamRecord
from .observability import log_stream_event, observe_stream
from .outbox import Sink
from .overload import refuse_when_busy
from .pipeline.commit import CommitStage
from .pipeline.corrections import PhraseDetector
from .pipeline.smoothing import make_strategy, strategy_names
from .protocol import ClientMessage, ProtocolError
from .rendering import markdown_html
from .stats import percentile
from .upstream.base import ChatRequest, Message
from .upstream.events import end_state
from .upstream.registry import default_upstream_name, get_upstream
from .upstream.traces import TraceRecorder
from .upstream_guard import GuardedUpstream, clean_text

CUT_OFF = "The answer reached the token limit (max_tokens) and was cut off."
CUT_OFF_BY = {
    "length": CUT_OFF,
    "content_filter": "The provider's content filter stopped the answer: what you see is cut off.",
    "pause_turn": "The provider paused the answer before it finished: what you see is cut off.",
}
REFUSED = "The model declined to answer"

_END_TO_STATUS = {
    "done": ChatMessage.Status.COMPLETE,
    "stopped": ChatMessage.Status.STOPPED,
    "disconnected": ChatMessage.Status.INTERRUPTED,
    "error": ChatMessage.Status.INTERRUPTED,
}
_END_TO_STATE = {"done": "done", "stopped": "stopped", "disconnected": "interrupted", "error": "interrupted"}

_rate_limiter: StartRateLimiter | None = None
logger = logging.getLogger("streamui.streams")


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


BUSY = "Too many answers are streaming at once: stop one or wait for it to finish."
BUSY_ADDRESS = "Too many answers are streaming from your network at once: wait for one to finish."
UNAVAILABLE = "The server could not start the answer (its stream store is unavailable): try again in a moment."


async def start_stream(owner: Owner, msg: ClientMessage, *, address: str = "") -> StartedStream:
    """Validate, store the turn, and start generating; ProtocolError says what was wrong.

    A slot is taken (atomically, per owner and per client `address`) before anything awaits,
    and given back if anything after it fails (review 2.10, 2.11, 4.6)."""
    config = get_settings()
    prompt = msg.prompt.strip()
    if not prompt:
        raise ProtocolError("Type a message first.")
    if len(prompt) > config.max_prompt_chars:
        raise ProtocolError(f"That message is {len(prompt)} characters; the limit is {config.max_prompt_chars}.")
    key = owner_key(owner)
    hub = get_hub()
    refuse_when_busy(hub)  # MAX_STREAMS_PER_PROCESS (issue 9): before any database work
    stream_id = secrets.token_urlsafe(18)
    limits = [("owner", key, int(config.max_concurrent_streams))]
    if address and not _is_loopback(address):
        # Loopback is exempt: it is nginx's address when Daphne runs without --proxy-headers (a
        # per-address limit would then cap the whole site), and the load generator's.
        limits.append(("address", f"addr:{address}", int(config.max_concurrent_per_address)))
    try:
        slot = await hub.admit(stream_id, limits)
    except AdmissionRefused as refused:
        raise ProtocolError(BUSY if refused.scope == "owner" else BUSY_ADDRESS) from None
    except Exception:
        logger.warning("admission failed", exc_info=True)
        raise ProtocolError(UNAVAILABLE) from None
    try:
        return await _start(owner, msg, prompt, key, stream_id, slot)
    except BaseException:
        await hub.release(slot)
        raise


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


async def _start(owner: Owner, msg: ClientMessage, prompt: str, key: str, stream_id: str,
                 slot: object) -> StartedStream:
    config = get_settings()
    hub = get_hub()
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
    record = await StreamRecord.objects.acreate(
        stream_id=stream_id, conversation=conversation, message=answer,
        session_key=owner.session_key or "", upstream=upstream_name, profile=profile,
        model=str(getattr(upstream, "model", "")), strategy=assignment.strategy if mode == "chat" else "",
        arm=assignment.arm if mode == "chat" else "json",  # JSON mode is not smoothed: in no strategy's arm
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

    guarded = GuardedUpstream(upstream, max_chars=int(config.max_answer_chars))

    def build(sink: Sink) -> Generation:
        return Generation(
            upstream=guarded, request=request, strategies=strategies, mode=mode, commit=commit,
            schema=json_schema() if mode == "json" else None, widgets=json_widgets(),
            message_id=answer.pk, sink=sink,
            stream_id=stream_id, show_figures=True, figures_interval=config.figures_interval,
            recorder=recorder,
        )

    try:
        await hub.start(stream_id=stream_id, owner=key, generation=build,
                        finalize=_finalizer(record, answer, recorder, prompt), meta={"message": str(answer.pk)},
                        checkpoint=checkpointer(answer), slot=slot, retry=prompt)  # type: ignore[arg-type]
    except StreamStartError as exc:
        logger.error("stream %s: could not start: %s", stream_id, exc)
        answer.status, answer.error = ChatMessage.Status.INTERRUPTED, UNAVAILABLE
        await answer.asave(update_fields=["status", "error"])
        record.end_reason, record.error_kind, record.error_message = "error", "journal", str(exc)[:500]
        await record.asave(update_fields=["end_reason", "error_kind", "error_message"])
        raise ProtocolError(UNAVAILABLE) from None
    log_stream_event("start", stream_id, upstream=upstream_name, strategy=assignment.strategy, arm=assignment.arm,
                     mode=mode, conversation=str(conversation.public_id))
    lanes = tuple(s.name for s in strategies) if len(strategies) > 1 else ("",)
    return StartedStream(stream_id, conversation, user_msg, answer, mode, lanes)


def _finalizer(record: StreamRecord, message: ChatMessage, recorder: TraceRecorder | None, prompt: str) -> Finalize:
    async def finalize(result: GenerationResult) -> Entry:
        metrics = result.metrics
        # Whatever got through, it must be storable: a lone surrogate once lost the whole answer (3.8).
        message.content = clean_text(result.shown)
        message.reasoning = clean_text(result.reasoning)
        message.tool_calls = _clean_json(result.tool_calls)
        message.status = _END_TO_STATUS[result.end_reason]
        message.error = result.error.message if result.error else ""
        if result.end_reason == "disconnected" and not message.error:
            # The grace period ran out with no client: say so, so the reload shows why it stopped.
            message.error = (f"The answer was stopped after no one was watching it for "
                             f"{get_settings().disconnect_grace:g} s.")
        finish = result.finish_reason or ""
        short_kind = ""  # the record's error kind for an answer that ended normally but short of complete
        if result.end_reason == "done" and (result.refusal or end_state(finish) == "refused"):
            # A refusal is said as one, in the provider's words, never stored as an empty complete answer.
            message.status = ChatMessage.Status.INTERRUPTED
            message.error = f"{REFUSED}: {result.refusal.strip()}" if result.refusal.strip() else f"{REFUSED}."
            short_kind = "refused"
        elif result.end_reason == "done" and end_state(finish) == "cut_off":
            # Cut off by max_tokens, a content filter or a pause: as far as the server went, not complete.
            message.status = ChatMessage.Status.INTERRUPTED
            message.error = CUT_OFF_BY.get(finish, CUT_OFF)
            short_kind = finish
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
        elif short_kind:
            record.error_kind, record.error_message = short_kind, message.error
        await message.asave()
        await record.asave()
        observe_stream(record, widget=message.mode)
        if recorder is not None:
            recorder.save(Path(get_settings().record_traces_dir or ".") / f"{record.stream_id}.jsonl")
        event = {"done": "end", "stopped": "stop", "disconnected": "cancel", "error": "failure"}[result.end_reason]
        log_stream_event(event, record.stream_id, end_reason=result.end_reason,
                         tokens_generated=record.tokens_generated, tokens_shown=record.tokens_shown,
                         error=record.error_message or None)
        state = "interrupted" if message.status == ChatMessage.Status.INTERRUPTED else _END_TO_STATE[result.end_reason]
        # Every interruption offers Retry: the same prompt again, as a new stream (never a silent re-bill).
        html = str(fragments.replace_mark(message.pk, message.status, message.error))
        if result.error is not None and result.error.message == JOURNAL_FAILED:
            # Followers get this end from memory, not from the journal that failed: it carries the
            # answer as stored, so what they show is what was kept (the soak's shown == stored).
            html = restore_html(message) + html
        return Entry(seq=0, state=state, error=message.error,
                     retry=prompt if state == "interrupted" else "", html=html)

    return finalize


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean_json(v) for k, v in value.items()}
    return value


def checkpointer(message: ChatMessage) -> Callable[[Generation], Awaitable[None]]:
    """Write what the user has been shown so far to the message, when it changed (review 4.1).

    Run by the hub every PERSIST_INTERVAL seconds: a worker killed mid-stream loses at most
    that much of the shown answer. The message stays `streaming` until the end is recorded."""
    saved = {"content": "", "reasoning": "", "tools": 0}

    async def checkpoint(generation: Generation) -> None:
        content = clean_text(generation.shown_text)
        reasoning = clean_text("".join(getattr(generation, "_reasoning", ())))
        tools = getattr(getattr(generation, "_tools", None), "calls", None) or {}
        if content == saved["content"] and reasoning == saved["reasoning"] and len(tools) == saved["tools"]:
            return
        fields = {"content": content, "reasoning": reasoning}
        if tools:
            fields["tool_calls"] = _clean_json(generation.result().tool_calls)
        await ChatMessage.objects.filter(pk=message.pk, status=ChatMessage.Status.STREAMING).aupdate(**fields)
        saved.update(content=content, reasoning=reasoning, tools=len(tools))

    return checkpoint


ORPHANED = "The server running this answer restarted before it finished."


async def close_orphaned(stream_id: str, owner: Owner, *, restore: bool = False) -> Entry | None:
    """A stream the database says is running but no worker runs (its worker died):
    record it as interrupted, keeping what was saved, and say so, with Retry.

    `restore`: the client has shown nothing of it (a reload after the journal went with the
    worker), so the entry also carries the answer as last saved (review 4.1, 4.3)."""
    record = await StreamRecord.objects.select_related("message").filter(
        stream_id=stream_id, **owner.stream_filter()).afirst()
    if record is None or record.message is None:
        return None
    message = record.message
    prompt = await ChatMessage.objects.filter(conversation_id=message.conversation_id, role="user",
                                              id__lt=message.pk).order_by("-id").values_list(
                                                  "content", flat=True).afirst() or ""
    if message.status == ChatMessage.Status.STREAMING:
        message.status, message.error = ChatMessage.Status.INTERRUPTED, ORPHANED
        await message.asave(update_fields=["status", "error"])
        record.end_reason, record.error_kind, record.error_message = "error", "orphaned", ORPHANED
        await record.asave(update_fields=["end_reason", "error_kind", "error_message"])
        log_stream_event("failure", stream_id, error=ORPHANED)
    state = _END_TO_STATE.get(record.end_reason, "interrupted")
    if message.status == ChatMessage.Status.INTERRUPTED:
        state = "interrupted"
    html = str(fragments.replace_mark(message.pk, message.status, message.error))
    if restore:
        html = restore_html(message) + html
    return Entry(seq=0, state=state, error=message.error, html=html,
                 retry=prompt if state == "interrupted" else "")


def restore_html(message: ChatMessage) -> str:
    """The answer as stored, swapped over whatever the widget shows of it (chat mode)."""
    if not message.content or message.mode == "json":
        return ""
    out = fragments.lane_output_id(message.pk, 0)
    return (f'<div id="{out}-blocks" hx-swap-oob="innerHTML">{markdown_html(message.content)}</div>'
            f'<div id="{out}-tail" hx-swap-oob="innerHTML"></div>')


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
    elif entry.error:
        parts.append(str(fragments.error(widget_id, entry.error)))  # a notice, e.g. a trimmed journal
    return "".join(parts)


__all__ = ["CUT_OFF", "StartedStream", "owner_key", "render_entry", "start_stream"]
