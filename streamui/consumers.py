"""The websocket edge: one ChatConsumer per open widget.

Each generation runs in its own asyncio task so this consumer stays free to receive
Stop; Stop, a closed tab and a dropped socket all cancel that task (see
streamui.generation for what cancelling does to the upstream).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from pathlib import Path
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from . import fragments
from .conf import get_config
from .conversations import Owner, afind_conversation, ahistory, anew_conversation
from .generation import Generation, GenerationResult
from .models import ChatMessage, Conversation, StreamRecord
from .ab import choose_strategy
from .answer_schema import ANSWER_SCHEMA, response_format
from .pipeline.commit import CommitStage
from .pipeline.corrections import POLICIES
from .pipeline.smoothing import make_strategy, strategy_names
from .stats import percentile
from .protocol import ClientMessage, ProtocolError, parse_message
from .upstream.base import ChatRequest, Message
from .upstream.registry import default_upstream_name, get_upstream
from .upstream.traces import TraceRecorder

logger = logging.getLogger("streamui.consumer")

CUT_OFF = "The answer reached the token limit (max_tokens) and was cut off."

_END_TO_STATUS = {
    "done": ChatMessage.Status.COMPLETE,
    "stopped": ChatMessage.Status.STOPPED,
    "disconnected": ChatMessage.Status.INTERRUPTED,
    "error": ChatMessage.Status.INTERRUPTED,
}


class _Turn:
    """The generation under way on this socket, and what it needs when it ends."""

    def __init__(self, *, task: asyncio.Task[None], generation: Generation, record: StreamRecord,
                 message: ChatMessage) -> None:
        self.task = task
        self.generation = generation
        self.record = record
        self.message = message


class ChatConsumer(AsyncWebsocketConsumer):
    widget_id: str
    owner: Owner | None
    turn: _Turn | None

    async def connect(self) -> None:
        self.widget_id = self.scope["url_route"]["kwargs"]["widget_id"]
        self.owner = Owner.from_scope(self.scope)
        self.turn = None
        await self.accept()
        if self.owner is None:
            await self._send_error("Your session has expired: reload the page to chat.")

    async def disconnect(self, code: int) -> None:
        if self.turn is not None and not self.turn.task.done():
            logger.info("stream %s: client disconnected (code %s), cancelling", self.turn.record.stream_id, code)
            self.turn.generation.cancel_reason = "disconnected"
            self.turn.task.cancel()
            # Let the task record what the user saw before the consumer goes away.
            await asyncio.wait({self.turn.task}, timeout=5)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        config = get_config()
        try:
            message = parse_message(
                text_data if text_data is not None else bytes_data,
                max_bytes=int(config["MAX_MESSAGE_BYTES"]),
                max_prompt_chars=int(config["MAX_PROMPT_CHARS"]),
            )
        except ProtocolError as exc:
            logger.info("widget %s: rejected message: %s", self.widget_id, exc)
            await self._send_error(str(exc))
            return
        try:
            if message.action == "stop":
                await self._stop()
            elif message.action == "send":
                await self._start(message)
            elif message.action == "new":
                await self._new_conversation()
            elif message.action == "timing":
                await self._client_timing(message)
        except ProtocolError as exc:
            await self._send_error(str(exc))

    # --- actions -------------------------------------------------------------------

    async def _stop(self) -> None:
        turn = self.turn
        if turn is None or turn.task.done():
            return  # stopping twice, or after the end, is harmless
        turn.record.stop_received_at = time.time()
        logger.info("stream %s: stop received, cancelling", turn.record.stream_id)
        turn.generation.cancel_reason = "stopped"
        turn.task.cancel()

    async def _new_conversation(self) -> None:
        if self.owner is None:
            raise ProtocolError("Your session has expired: reload the page to chat.")
        if self.turn is not None and not self.turn.task.done():
            raise ProtocolError("A reply is still streaming: stop it first.")
        conversation = await anew_conversation(self.owner)
        await self._send(fragments.clear_log(self.widget_id), fragments.clear_error(self.widget_id),
                         fragments.conversation_input(self.widget_id, str(conversation.public_id)),
                         fragments.status(self.widget_id, "idle"))

    async def _start(self, msg: ClientMessage) -> None:
        config = get_config()
        if self.owner is None:
            raise ProtocolError("Your session has expired: reload the page to chat.")
        prompt = msg.prompt.strip()
        if not prompt:
            raise ProtocolError("Type a message first.")
        if len(prompt) > int(config["MAX_PROMPT_CHARS"]):
            raise ProtocolError(
                f"That message is {len(prompt)} characters; the limit is {config['MAX_PROMPT_CHARS']}.")
        if self.turn is not None and not self.turn.task.done():
            raise ProtocolError("A reply is still streaming: stop it first.")
        upstream_name = msg.upstream or default_upstream_name()
        try:
            upstream = get_upstream(upstream_name)
        except ValueError as exc:
            raise ProtocolError(str(exc)) from None
        visitor = f"user:{self.owner.user_id}" if self.owner.user_id is not None else f"session:{self.owner.session_key}"
        try:
            assignment = choose_strategy(visitor, msg.strategy)
        except ValueError as exc:
            raise ProtocolError(str(exc)) from None
        strategy_name = assignment.strategy

        strategies = [make_strategy(strategy_name)]
        if msg.compare:
            if msg.compare not in strategy_names():
                raise ProtocolError(f"unknown smoothing strategy {msg.compare!r}")
            strategies.append(make_strategy(msg.compare))
        policy = msg.policy or str(config["COMMIT_POLICY"])
        if policy not in POLICIES:
            raise ProtocolError(f"unknown correction policy {policy!r}")
        mode = "json" if msg.output == "json" else "chat"

        conversation = await afind_conversation(self.owner, msg.conversation) if msg.conversation else None
        if conversation is None:
            conversation = await anew_conversation(self.owner, title=prompt[:80])
        history = await ahistory(conversation)
        user_msg = await ChatMessage.objects.acreate(conversation=conversation, role="user", content=prompt)
        answer = await ChatMessage.objects.acreate(conversation=conversation, role="assistant", mode=mode,
                                                   status=ChatMessage.Status.STREAMING)
        await conversation.asave(update_fields=["updated_at"])

        profile = upstream_name.split(":", 1)[1] if upstream_name.startswith("simulated:") else ""
        if mode == "json" and profile:
            profile = "json"
        request = ChatRequest(
            messages=[Message("system", str(config["SYSTEM_PROMPT"])), *history, Message("user", prompt)],
            max_tokens=int(config["MAX_TOKENS"]),
            profile=profile or None,
            response_format=response_format() if mode == "json" else None,
        )
        stream_id = secrets.token_urlsafe(18)
        record = StreamRecord(
            stream_id=stream_id, conversation=conversation, message=answer,
            session_key=self.owner.session_key or "", upstream=upstream_name, profile=profile,
            model=str(getattr(upstream, "model", "")), strategy=strategy_name, arm=assignment.arm,
            commit_policy=policy if mode == "chat" else "", started_at=timezone.now(),
        )
        recorder = None
        if config["RECORD_TRACES_DIR"]:
            recorder = TraceRecorder(stream_id, asyncio.get_running_loop().time(), {"upstream": upstream_name})
        commit = CommitStage(policy, hold_ms=float(config["COMMIT_HOLD_MS"]),
                             hold_chars=int(config["COMMIT_HOLD_CHARS"])) if mode == "chat" else None
        generation = Generation(
            upstream=upstream, request=request, strategies=strategies, mode=mode, commit=commit,
            schema=ANSWER_SCHEMA if mode == "json" else None,
            widget_id=self.widget_id, message_id=answer.pk, send=self._send_raw, stream_id=stream_id,
            show_figures=True, figures_interval=float(config["FIGURES_INTERVAL"]), recorder=recorder,
        )
        lanes = tuple(s.name for s in strategies) if len(strategies) > 1 else ("",)
        await self._send(
            fragments.clear_error(self.widget_id),
            fragments.conversation_input(self.widget_id, str(conversation.public_id)),
            fragments.append_to_log(self.widget_id, fragments.user_turn(self.widget_id, user_msg.pk, prompt)
                                    + fragments.assistant_turn(self.widget_id, answer.pk, mode=mode, lanes=lanes)),
            fragments.status(self.widget_id, "streaming", stream_id=stream_id),
        )
        logger.info("stream %s: start upstream=%s strategy=%s conversation=%s",
                    stream_id, upstream_name, strategy_name, conversation.public_id)
        task = asyncio.create_task(self._run(generation), name=f"streamui-generation-{stream_id}")
        self.turn = _Turn(task=task, generation=generation, record=record, message=answer)

    async def _run(self, generation: Generation) -> None:
        try:
            result = await generation.run()
        except asyncio.CancelledError:
            await self._finish(generation.result())
            raise
        except Exception:
            # A bug must not take the socket down or leave the widget looking alive.
            logger.exception("stream %s: generation failed", generation.stream_id)
            result = generation.result("error")
        await self._finish(result)

    async def _finish(self, result: GenerationResult) -> None:
        turn = self.turn
        assert turn is not None
        record, message = turn.record, turn.message
        metrics = result.metrics
        message.content = result.shown
        message.reasoning = result.reasoning
        message.tool_calls = result.tool_calls
        message.status = _END_TO_STATUS[result.end_reason]
        message.error = result.error.message if result.error else ""
        if result.end_reason == "done" and result.finish_reason == "length":
            # Cut off by max_tokens: complete as far as the server goes, not as an answer.
            message.status = ChatMessage.Status.INTERRUPTED
            message.error = CUT_OFF
        record.end_reason = result.end_reason
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
        if result.commit is not None:
            holds = [h * 1000 for h in result.commit.stats.hold_delays()]
            record.hold_p50_ms, record.hold_p95_ms = percentile(holds, 50), percentile(holds, 95)
            record.hold_max_ms = max(holds) if holds else None
            record.corrections = result.commit.stats.corrections
        record.chars_shown = metrics.chars_shown
        if result.error:
            record.error_kind = result.error.kind
            record.error_message = result.error.message
        elif message.error == CUT_OFF:
            record.error_kind = "length"
            record.error_message = CUT_OFF
        await message.asave()
        await record.asave()
        recorder = turn.generation.recorder
        if recorder is not None:
            recorder.save(Path(get_config()["RECORD_TRACES_DIR"]) / f"{record.stream_id}.jsonl")
        logger.info("stream %s: end reason=%s shown=%d tokens generated=%d (%s)", record.stream_id,
                    result.end_reason, result.tokens_shown, result.tokens_generated, result.tokens_generated_source)
        if result.end_reason == "disconnected":
            return
        state = {"done": "done", "stopped": "stopped", "error": "interrupted"}[result.end_reason]
        detail = message.error
        frames = [fragments.replace_mark(self.widget_id, message.pk, message.status, detail),
                  fragments.status(self.widget_id, state, stream_id=record.stream_id)]
        if result.error:
            frames.append(fragments.error(self.widget_id, f"The answer was interrupted: {result.error.message}"))
        try:
            await self._send(*frames)
        except Exception:  # the socket may be gone by now; the record is saved either way
            logger.info("stream %s: could not send the final status", record.stream_id)

    async def _client_timing(self, msg: ClientMessage) -> None:
        timings = msg.timings
        if not isinstance(timings, dict) or not msg.stream:
            raise ProtocolError("timing needs a stream id and an object of timings")
        marks = timings.get("marks")
        if not isinstance(marks, list) or len(marks) > 20000 or not all(
                isinstance(m, (int, float)) and not isinstance(m, bool) for m in marks):
            raise ProtocolError("timing marks must be a list of numbers")
        updated = await StreamRecord.objects.filter(
            stream_id=msg.stream, **({"session_key": self.owner.session_key} if self.owner and self.owner.session_key
                                     else {"conversation__user_id": self.owner.user_id if self.owner else -1})
        ).aupdate(client_timings={"marks": [round(float(m), 2) for m in marks]})
        if not updated:
            raise ProtocolError("unknown stream")

    # --- sending -------------------------------------------------------------------

    async def _send_raw(self, html: str) -> None:
        await self.send(text_data=html)

    async def _send(self, *parts: Any) -> None:
        await self.send(text_data="".join(str(p) for p in parts))

    async def _send_error(self, message: str) -> None:
        await self._send(fragments.error(self.widget_id, message))


__all__ = ["ChatConsumer"]
