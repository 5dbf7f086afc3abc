"""The chat widget: one function behind `{% streamui_chat %}` and Jinja2's `streamui_chat()`."""

from __future__ import annotations

import secrets
from typing import Any

from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import reverse
from markupsafe import Markup

from . import fragments
from .ab import AUTO, arms
from .conf import get_settings
from .conversations import Owner, latest_conversation
from .extensions import json_schema, json_widgets
from .models import ChatMessage, Conversation, StreamRecord
from .pipeline.corrections import policy_names
from .pipeline.smoothing import strategy_names
from .rendering import json_html, markdown_html, tool_calls_html
from .sse import event_source
from .templating import environment
from .upstream.registry import available_upstreams, default_upstream_name
from .vendor import HTMX_SSE_STATIC, HTMX_STATIC, HTMX_WS_STATIC
from .wire import TEMPLATE_ID, figures_template, status_labels, turn_template

TRANSPORTS = ("auto", "websocket", "sse")

# What each live figure means, for the "?" next to the figures bar (and each figure's tooltip).
FIGURE_HELP = (
    ("ttft", "first visible token",
     ("Time from the server receiving the prompt to the first thing shown (text, or a tool card); "
     "the network to your browser comes on top.")),
    ("shown", "tokens shown", "Tokens of answer text on the page so far (drafts being verified included)."),
    ("generated", "tokens generated",
     ("Tokens the model has produced (and billed), shown or not: text still in the smoothing cushion, "
     "reasoning, tool-call arguments.")),
    ("elapsed", "elapsed", "Time since the server received the prompt."),
    ("strategy", "smoothing", "How text is paced onto the page; \"json\" when the output is widgets (not smoothed)."),
)
STALL_UPSTREAM = "simulated:stall-now"


def render_past_turn(message: ChatMessage, *, oob: bool = False) -> Markup:
    if message.role == ChatMessage.Role.USER:
        return fragments.user_turn(message.pk, message.content)
    if message.status == ChatMessage.Status.STREAMING:
        # Still generating (or its worker died): an empty answer the widget fills by resuming
        # the stream's journal from the start; the server marks it interrupted if it is gone.
        return fragments.assistant_turn(message.pk, mode=message.mode)
    summary = thought_for(message)
    if message.mode == "json":
        body = json_html(fragments.json_root_id(message.pk), message.content, json_schema(), json_widgets())
    else:
        body = markdown_html(message.content)
    tools = tool_calls_html(fragments.tools_id(message.pk), message.tool_calls or [],
                            failed=message.status == ChatMessage.Status.INTERRUPTED)
    return fragments.assistant_turn(message.pk, status=message.status, detail=message.error, mode=message.mode,
                                    body_html=body, reasoning=message.reasoning, thinking_summary=summary,
                                    tools_html=tools, oob=oob)


def thought_for(message: ChatMessage) -> str:
    """ "Thought for N s" for a stored answer, from its stream's record ("(stopped)" if it never got past thinking)."""
    record = getattr(message, "streamrecord", None) if message.reasoning else None
    if record is None or record.first_reasoning_ms is None:
        return "Thought"
    answered = record.first_visible_token_ms is not None and record.first_visible_token_ms > record.first_reasoning_ms
    end = record.first_visible_token_ms if answered else record.duration_ms
    if end is None:
        return "Thought"
    seconds = max(0.0, (end - record.first_reasoning_ms) / 1000)
    cut = "" if answered or message.status == ChatMessage.Status.COMPLETE else f" ({message.status})"
    return f"Thought for {seconds:.1f} s{cut}"


def resumable_stream(conversation: Conversation | None) -> str:
    """The stream id of the conversation's answer still streaming, if any."""
    if conversation is None:
        return ""
    record = (StreamRecord.objects.filter(conversation=conversation, end_reason="",
                                          message__status=ChatMessage.Status.STREAMING)
              .order_by("-started_at").only("stream_id").first())
    return record.stream_id if record else ""


def render_chat(
    request: Any,
    *,
    conversation: Conversation | None = None,
    upstream_picker: bool = False,
    strategy_picker: bool = False,
    policy_picker: bool = False,
    output_picker: bool = False,
    compare: bool = False,
    transport: str | None = None,
    figures: bool = False,
    placeholder: str = "Ask anything…",
    heading: str = "Chat",
    empty_title: str = "Ask a question to start the conversation.",
) -> Markup:
    """The widget's HTML for this request: past turns of the visitor's latest conversation, and the form."""
    config = get_settings()
    owner = Owner.from_request(request)
    if conversation is None:
        conversation = latest_conversation(owner)
    transport = transport or config.transport
    if transport not in TRANSPORTS:
        raise ValueError(f"unknown transport {transport!r} (known: {', '.join(TRANSPORTS)})")
    policy_arms = arms("POLICY_ARMS", policy_names())
    widget_id = f"su-w{secrets.token_hex(5)}"
    turns = ([render_past_turn(m) for m in conversation.messages.select_related("streamrecord")]
             if conversation else [])
    resume = resumable_stream(conversation)
    # Scripts once per page, however many widgets it has: two copies of htmx would fight.
    include_assets = not getattr(request, "_streamui_assets", False)
    request._streamui_assets = True
    upstreams = available_upstreams() if upstream_picker else []
    upstream_names = {choice.name for choice in upstreams}
    simulated = default_upstream_name().startswith("simulated:") or any(
        name.startswith("simulated:") for name in upstream_names)
    template = environment().get_template("streamui/chat.html")
    html = template.render(
        widget_id=widget_id,
        include_assets=include_assets,
        transport=transport,
        csrf_token=get_token(request),
        send_url=reverse("streamui:sse-send", args=[widget_id]),
        stop_url=reverse("streamui:sse-stop"),
        new_url=reverse("streamui:sse-new", args=[widget_id]),
        event_source=event_source(widget_id, resume, 0) if resume and transport == "sse" else "",
        htmx_sse_js=static(HTMX_SSE_STATIC),
        resume_stream=resume,
        ws_url=f"/ws/streamui/chat/{widget_id}/",
        conversation_id=str(conversation.public_id) if conversation else "",
        turns=turns,
        upstreams=upstreams,
        hidden_upstreams={STALL_UPSTREAM},
        stall_upstream=STALL_UPSTREAM if STALL_UPSTREAM in upstream_names and compare else "",
        simulated_note=simulated,
        heading=heading,
        empty_title=empty_title,
        storage_key=request.path if hasattr(request, "path") else "",
        figure_help=FIGURE_HELP,
        default_upstream=default_upstream_name(),
        strategies=([AUTO] if arms() else []) + strategy_names() if strategy_picker else [],
        default_strategy=AUTO if arms() else config.smoothing,
        policies=([AUTO] if policy_arms else []) + policy_names() if policy_picker else [],
        default_policy=AUTO if policy_arms else config.commit_policy,
        output_picker=output_picker,
        compare_strategies=strategy_names() if compare else [],
        figures=figures,
        max_prompt_chars=config.max_prompt_chars,
        placeholder=placeholder,
        htmx_js=static(HTMX_STATIC),
        htmx_ws_js=static(HTMX_WS_STATIC),
        widget_js=static("streamui/streamui.js"),
        widget_css=static("streamui/streamui.css"),
        turn_template=Markup(turn_template()),
        figures_template=Markup(figures_template(widget_id)),
        turn_placeholder=fragments.turn_id(TEMPLATE_ID),
        status_labels=status_labels(),
    )
    return Markup(html)


__all__ = ["render_chat", "render_past_turn", "resumable_stream", "thought_for"]
