"""The end of a stream, and what is saved on the way: the part both transports share.

`finalizer` records how a stream ended (its message and its StreamRecord, in one group
commit) and gives the journal's final entry; `checkpointer` saves what the user has been
shown so far while it streams; `close_orphaned` ends a stream whose worker died.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from django.db import connection

from . import fragments
from .conf import get_settings
from .conversations import Owner
from .generation import Generation, GenerationResult
from .group_commit import in_batch
from .hub import JOURNAL_FAILED, Ending, Finalize
from .journal import Entry
from .models import ChatMessage, StreamRecord
from .observability import log_stream_event, observe_stream
from .rendering import markdown_html
from .stats import percentile
from .upstream.events import end_state
from .upstream.traces import TraceRecorder
from .upstream_guard import clean_text

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



def finalizer(record: StreamRecord, message: ChatMessage, recorder: TraceRecorder | None, prompt: str) -> Finalize:
    async def finalize(result: GenerationResult) -> Ending:
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
        compact = await in_batch(lambda: _save(message, record))
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
        return Ending(Entry(seq=0, state=state, error=message.error,
                            retry=prompt if state == "interrupted" else "", html=html), compact)

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
        if tools:
            fields = {"content": content, "reasoning": reasoning,
                      "tool_calls": _clean_json(generation.result().tool_calls)}
            streaming = ChatMessage.objects.filter(pk=message.pk, status=ChatMessage.Status.STREAMING)
            await in_batch(lambda: streaming.update(**fields))
        else:
            await in_batch(lambda: _save_shown(message.pk, content, reasoning))
        saved.update(content=content, reasoning=reasoning, tools=len(tools))

    return checkpoint


def _save_shown(pk: int, content: str, reasoning: str) -> None:
    # One prepared UPDATE: every running stream writes one a second, and the ORM's compiling of
    # it cost more than SQLite's running of it (issue 9's profile).
    with connection.cursor() as cursor:
        cursor.execute(_shown_sql(), [content, reasoning, pk, ChatMessage.Status.STREAMING])


@functools.cache
def _shown_sql() -> str:
    meta, quote = ChatMessage._meta, connection.ops.quote_name
    column = {name: quote(str(meta.get_field(name).column)) for name in ("id", "content", "reasoning", "status")}  # type: ignore[union-attr]
    return (f"UPDATE {quote(meta.db_table)} SET {column['content']} = %s, {column['reasoning']} = %s "
            f"WHERE {column['id']} = %s AND {column['status']} = %s")


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


def _save(message: ChatMessage, record: StreamRecord) -> bool:
    """Record the end; True: the journal may keep the stream as its answer as stored."""
    message.save()
    record.save()
    # A reload shows a JSON document cut short as raw text: keep the frames that showed it better.
    return not (message.mode == "json" and message.status != ChatMessage.Status.COMPLETE)


async def render_stored(stream_id: str) -> str:
    """The finished answer of `stream_id` as a reload renders it, as HTML that replaces the
    whole message: what a late resume of a compacted journal gets (Entry.stored)."""
    return await in_batch(lambda: _render_stored(stream_id))


def _render_stored(stream_id: str) -> str:
    from .widget import render_past_turn  # here, not at the top: widget -> sse -> streams -> this module

    record = StreamRecord.objects.select_related("message").filter(stream_id=stream_id).first()
    if record is None or record.message is None:
        return ""
    message = record.message
    message.streamrecord = record  # thought_for reads it: no second query
    return str(render_past_turn(message, oob=True))


def save_failed_start(answer: ChatMessage, record: StreamRecord) -> None:
    answer.save(update_fields=["status", "error"])
    record.save(update_fields=["end_reason", "error_kind", "error_message"])


__all__ = ["CUT_OFF", "CUT_OFF_BY", "ORPHANED", "REFUSED", "checkpointer", "close_orphaned", "finalizer",
           "render_stored", "restore_html", "save_failed_start"]
