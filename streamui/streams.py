"""Starting a stream and recording its end: the part both transports (WebSocket, SSE) share.

`start_stream` validates a prompt, stores the turn, builds the generation and hands it
to the hub; `render_entry` turns a journal entry into the frame a given widget shows.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
from dataclasses import dataclass

from markupsafe import Markup

from . import fragments
from .ab import choose_policy, choose_strategy
from .admission import AdmissionRefused
from .answer_schema import response_format
from .conf import get_settings
from .conversations import Owner
from .extensions import json_schema, json_widgets
from .generation import Generation
from .group_commit import in_batch
from .hub import StreamStartError, get_hub
from .journal import Entry
from .limits import StartRateLimiter
from .models import ChatMessage, Conversation
from .observability import log_stream_event
from .outbox import DirectSink, Sink
from .overload import refuse_when_busy
from .pipeline.commit import CommitStage
from .pipeline.corrections import PhraseDetector
from .pipeline.smoothing import make_strategy, strategy_names
from .protocol import ClientMessage, ProtocolError
from .stream_end import CUT_OFF, checkpointer, close_orphaned, finalizer, save_failed_start
from .turn_store import TurnRow, store_turn
from .upstream.base import ChatRequest, Message
from .upstream.registry import default_upstream_name, get_upstream
from .upstream.traces import TraceRecorder
from .upstream_guard import GuardedUpstream

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

    profile = upstream_name.split(":", 1)[1] if upstream_name.startswith("simulated:") else ""
    if mode == "json" and profile:
        profile = "json"
    turn = await in_batch(lambda: store_turn(TurnRow(
        owner=owner, conversation=msg.conversation, prompt=prompt, mode=mode, stream_id=stream_id,
        upstream=upstream_name, profile=profile, model=str(getattr(upstream, "model", "")),
        strategy=assignment.strategy if mode == "chat" else "",
        arm=assignment.arm if mode == "chat" else "json",  # JSON mode is not smoothed: in no strategy's arm
        policy=policy if mode == "chat" else "", policy_arm=policy_choice.arm if mode == "chat" else "")))
    conversation, user_msg, answer, record = turn.conversation, turn.user_message, turn.answer, turn.record
    request = ChatRequest(
        messages=[Message("system", config.system_prompt), *turn.history, Message("user", prompt)],
        max_tokens=config.max_tokens,
        profile=profile or None,
        response_format=response_format(dict(json_schema())) if mode == "json" else None,
    )
    recorder = None
    if config.record_traces_dir:
        recorder = TraceRecorder(stream_id, asyncio.get_running_loop().time(), {"upstream": upstream_name})
    openers = config.correction_openers
    commit = CommitStage(policy, hold_ms=config.commit_hold_ms, hold_chars=config.commit_hold_chars,
                         first_hold_ms=config.commit_first_hold_ms,
                         detector=PhraseDetector(openers) if openers is not None else None) if mode == "chat" else None

    guarded = GuardedUpstream(upstream, max_chars=int(config.max_answer_chars))

    def build(sink: Sink, direct: DirectSink | None) -> Generation:
        return Generation(
            upstream=guarded, request=request, strategies=strategies, mode=mode, commit=commit,
            schema=json_schema() if mode == "json" else None, widgets=json_widgets(),
            message_id=answer.pk, sink=sink, direct_sink=direct,
            stream_id=stream_id, show_figures=msg.figures, figures_interval=config.figures_interval,
            recorder=recorder,
        )

    try:
        await hub.start(stream_id=stream_id, owner=key, generation=build,
                        finalize=finalizer(record, answer, recorder, prompt), meta={"message": str(answer.pk)},
                        checkpoint=checkpointer(answer), slot=slot, retry=prompt)  # type: ignore[arg-type]
    except StreamStartError as exc:
        logger.error("stream %s: could not start: %s", stream_id, exc)
        answer.status, answer.error = ChatMessage.Status.INTERRUPTED, UNAVAILABLE
        record.end_reason, record.error_kind, record.error_message = "error", "journal", str(exc)[:500]
        await in_batch(lambda: save_failed_start(answer, record))
        raise ProtocolError(UNAVAILABLE) from None
    log_stream_event("start", stream_id, upstream=upstream_name, strategy=assignment.strategy, arm=assignment.arm,
                     mode=mode, conversation=str(conversation.public_id))
    lanes = tuple(s.name for s in strategies) if len(strategies) > 1 else ("",)
    return StartedStream(stream_id, conversation, user_msg, answer, mode, lanes)


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


__all__ = ["CUT_OFF", "StartedStream", "close_orphaned", "owner_key", "render_entry", "start_stream"]
