"""The HTML fragments the server sends: htmx out-of-band swaps, model text always escaped.

Every id is derived from the widget id and the message id, so fragments find their
target whatever else is on the page. `Markup.format` escapes every argument.
"""

from __future__ import annotations

from markupsafe import Markup, escape

STATUS_TEXT = {
    "idle": "",
    "streaming": "Streaming…",
    "done": "",
    "stopped": "Stopped",
    "interrupted": "Interrupted",
    "error": "Error",
}


def turn_id(message_id: int) -> str:
    """Message-level ids are global (not per widget), so a stream's journal replays into any page."""
    return f"su-m{message_id}"


def output_id(message_id: int) -> str:
    return f"{turn_id(message_id)}-out"


def user_turn(message_id: int, text: str) -> Markup:
    return Markup(
        '<article class="streamui-turn streamui-user" id="{}" data-role="user">'
        '<div class="streamui-text">{}</div></article>'
    ).format(turn_id(message_id), text)


def mark(message_id: int, status: str, detail: str = "", *, oob: bool = False) -> Markup:
    """The badge that says whether an answer is complete, stopped or interrupted."""
    label = "" if status in ("complete", "streaming") else status
    return Markup('<span class="streamui-mark" id="{}-mark" data-status="{}" title="{}"{}>{}</span>').format(
        turn_id(message_id), status, detail, Markup(' hx-swap-oob="outerHTML"') if oob else "", label
    )


def lane_output_id(message_id: int, lane: int = 0) -> str:
    return output_id(message_id) + ("" if lane == 0 else f"-l{lane}")


def json_root_id(message_id: int) -> str:
    return f"{turn_id(message_id)}-json"


def tools_id(message_id: int) -> str:
    return f"{turn_id(message_id)}-tools"


def _thinking(tid: str, reasoning: str, summary: str, *, oob: bool = False) -> Markup:
    return Markup(
        '<details class="streamui-thinking" id="{}-thinking"{}{}><summary id="{}-thinking-summary">{}</summary>'
        '<div class="streamui-reasoning" id="{}-reasoning">{}</div></details>'
    ).format(tid, Markup(' hx-swap-oob="outerHTML"') if oob else "", "" if (reasoning or oob) else Markup(" hidden"),
             tid, summary, tid, reasoning)


def _lane(out_id: str, body: Markup, label: str) -> Markup:
    return Markup(
        '<div class="streamui-lane" data-strategy="{}"><div class="streamui-lane-label">{}</div>'
        '<div class="streamui-text" data-streamui="output" id="{}" aria-live="polite" aria-atomic="false">{}'
        '</div></div>'
    ).format(label, label, out_id, body)


def markdown_body(out_id: str, blocks_html: str = "") -> Markup:
    return Markup(
        '<div class="streamui-md" id="{}-blocks">{}</div><div class="streamui-md" id="{}-tail"></div>'
    ).format(out_id, Markup(blocks_html), out_id)


def assistant_turn(
    message_id: int,
    *,
    status: str = "streaming",
    detail: str = "",
    mode: str = "chat",
    lanes: tuple[str, ...] = ("",),
    body_html: str = "",
    reasoning: str = "",
    thinking_summary: str = "Thought",
    tools_html: str = "",
    oob: bool = False,
) -> Markup:
    """An assistant answer: thinking, tool calls, one output per lane (or the JSON root), the mark.

    `body_html` is trusted, server-rendered HTML of a finished answer (markdown or JSON widgets).
    `oob`: swapped over the answer already on the page (a finished stream's snapshot).
    """
    tid = turn_id(message_id)
    if mode == "json":
        root = json_root_id(message_id)
        outputs = _lane(output_id(message_id),
                        Markup('<div class="streamui-json" id="{}">{}</div>').format(root, Markup(body_html)), "")
    else:
        outputs = Markup("").join(
            _lane(lane_output_id(message_id, i),
                  markdown_body(lane_output_id(message_id, i), body_html if i == 0 else ""), label)
            for i, label in enumerate(lanes)
        )
    return Markup(
        '<article class="streamui-turn streamui-assistant" id="{}"{} data-role="assistant" data-mode="{}" '
        'data-lanes="{}">'
        '{}<div class="streamui-tools" id="{}">{}</div><div class="streamui-lanes">{}</div>{}</article>'
    ).format(tid, Markup(' hx-swap-oob="outerHTML"') if oob else "", mode, len(lanes),
             _thinking(tid, reasoning, thinking_summary), tools_id(message_id), Markup(tools_html),
             outputs, mark(message_id, status, detail))


def append_block(out_id: str, html: str, *, movable: int = 0, whole: bool = False) -> Markup:
    """Frozen markdown blocks (trusted HTML from the markdown renderer).

    `movable`: the blocks are the first `movable` elements of the open tail the client
    holds, byte for byte (streamui.pipeline.lane checks), so a transport that can move them
    (the websocket's `z` frame, streamui.wire) need not send them again; htmx ignores it.
    `whole`: ... and they are all of it, so moving them leaves the tail empty."""
    # f-strings with escape(), not Markup.format: these run on every frame, and markupsafe's
    # formatter costs five times as much (issue 9).
    if movable:
        whole_attr = " data-su-whole" if whole else ""
        return Markup(f'<div id="{escape(out_id)}-blocks" hx-swap-oob="beforeend" '
                      f'data-su-freeze="{int(movable)}"{whole_attr}>{html}</div>')
    return Markup(f'<div id="{escape(out_id)}-blocks" hx-swap-oob="beforeend">{html}</div>')


def replace_tail(out_id: str, html: str) -> Markup:
    return Markup(f'<div id="{escape(out_id)}-tail" hx-swap-oob="innerHTML">{html}</div>')


def append_tail(out_id: str, path: tuple[str, ...], html: str) -> Markup:
    """Trusted HTML appended to the element at `path` (tag names, each the last element
    child of the one before) inside the open tail; see streamui.pipeline.tail."""
    if not path:
        return Markup(f'<div id="{escape(out_id)}-tail" hx-swap-oob="beforeend">{html}</div>')
    target = " > ".join([f"#{out_id}-tail", *(f"{tag}:last-child" for tag in path)])
    # The selector names the target; the wrapper needs no id (a few bytes on every frame).
    return Markup(f'<div hx-swap-oob="beforeend:{escape(target)}">{html}</div>')


def thinking_started(message_id: int, text: str = "") -> Markup:
    """The reasoning panel, opened with its first text inside: an append in the same frame would land in the
    panel this one replaces (htmx swaps the outerHTML after the append), and the first token was lost."""
    tid = turn_id(message_id)
    summary = Markup('Thinking… <span class="streamui-elapsed" data-streamui-ticking></span>')
    return _thinking(tid, text, summary, oob=True)


def reasoning_append(message_id: int, text: str) -> Markup:
    return Markup('<span id="{}-reasoning" hx-swap-oob="beforeend">{}</span>').format(turn_id(message_id), text)


def thinking_done(message_id: int, seconds: float) -> Markup:
    return Markup('<summary id="{}-thinking-summary" hx-swap-oob="outerHTML">Thought for {:.1f} s</summary>').format(
        turn_id(message_id), seconds)


def append_to_log(widget_id: str, html: Markup) -> Markup:
    return Markup('<div id="{}-log" hx-swap-oob="beforeend">{}</div>').format(widget_id, html)


def replace_mark(message_id: int, status: str, detail: str = "") -> Markup:
    return mark(message_id, status, detail, oob=True)


def status(widget_id: str, state: str, text: str | None = None, *, stream_id: str = "") -> Markup:
    return Markup(
        '<div id="{}-status" class="streamui-status" data-streamui="status" data-state="{}" '
        'data-stream="{}" role="status" hx-swap-oob="outerHTML">{}</div>'
    ).format(widget_id, state, stream_id, STATUS_TEXT.get(state, state) if text is None else text)


def error(widget_id: str, message: str, *, retry_prompt: str = "") -> Markup:
    retry = Markup(' <button type="button" data-streamui="retry" data-prompt="{}">Retry</button>').format(
        retry_prompt) if retry_prompt else ""
    return Markup(
        '<div id="{}-error" class="streamui-error" data-streamui="error" role="alert" hx-swap-oob="outerHTML">'
        '{}{}</div>'
    ).format(widget_id, message, retry)


def clear_error(widget_id: str) -> Markup:
    return error(widget_id, "")


def conversation_input(widget_id: str, conversation_id: str) -> Markup:
    return Markup(
        '<input type="hidden" name="conversation" id="{}-conversation" value="{}" hx-swap-oob="outerHTML">'
    ).format(widget_id, conversation_id)


def stream_input(widget_id: str, stream_id: str) -> Markup:
    """The stream a widget's Stop button stops (the SSE transport posts it)."""
    return Markup('<input type="hidden" name="stream" id="{}-stream" value="{}" hx-swap-oob="outerHTML">').format(
        widget_id, stream_id)


def clear_log(widget_id: str) -> Markup:
    return Markup('<div id="{}-log" hx-swap-oob="innerHTML"></div>').format(widget_id)


FIGURE_LABELS = {
    "ttft": "first visible token",
    "shown": "tokens shown",
    "generated": "tokens generated",
    "elapsed": "elapsed",
    "strategy": "smoothing",
}


FIGURE_KEYS = tuple(FIGURE_LABELS)  # the figures a stream shows, in order (streamui.pipeline.chat)


def figures(widget_id: str, values: dict[str, str]) -> Markup:
    items = Markup("").join(
        Markup('<div><dt>{}</dt><dd data-figure="{}">{}</dd></div>').format(FIGURE_LABELS.get(key, key), key, value)
        for key, value in values.items()
    )
    return Markup(
        '<dl id="{}-figures" class="streamui-figures" data-streamui="figures" hx-swap-oob="outerHTML">{}</dl>'
    ).format(widget_id, items)


__all__ = [
    "append_block",
    "append_tail",
    "append_to_log",
    "assistant_turn",
    "clear_error",
    "clear_log",
    "conversation_input",
    "error",
    "escape",
    "figures",
    "json_root_id",
    "lane_output_id",
    "markdown_body",
    "output_id",
    "reasoning_append",
    "replace_mark",
    "replace_tail",
    "status",
    "stream_input",
    "thinking_done",
    "thinking_started",
    "tools_id",
    "turn_id",
    "user_turn",
]
