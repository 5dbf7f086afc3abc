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


def turn_id(widget_id: str, message_id: int) -> str:
    return f"{widget_id}-m{message_id}"


def output_id(widget_id: str, message_id: int) -> str:
    return f"{turn_id(widget_id, message_id)}-out"


def user_turn(widget_id: str, message_id: int, text: str) -> Markup:
    return Markup(
        '<article class="streamui-turn streamui-user" id="{}" data-role="user">'
        '<div class="streamui-text">{}</div></article>'
    ).format(turn_id(widget_id, message_id), text)


def mark(widget_id: str, message_id: int, status: str, detail: str = "", *, oob: bool = False) -> Markup:
    """The badge that says whether an answer is complete, stopped or interrupted."""
    label = "" if status in ("complete", "streaming") else status
    return Markup('<span class="streamui-mark" id="{}-mark" data-status="{}" title="{}"{}>{}</span>').format(
        turn_id(widget_id, message_id), status, detail, Markup(' hx-swap-oob="outerHTML"') if oob else "", label
    )


def assistant_turn(
    widget_id: str, message_id: int, *, text: str = "", status: str = "streaming", detail: str = ""
) -> Markup:
    tid = turn_id(widget_id, message_id)
    return Markup(
        '<article class="streamui-turn streamui-assistant" id="{}" data-role="assistant">'
        '<div class="streamui-text" data-streamui="output" id="{}" aria-live="polite" aria-atomic="false">{}</div>'
        "{}</article>"
    ).format(tid, output_id(widget_id, message_id), text, mark(widget_id, message_id, status, detail))


def append_to_log(widget_id: str, html: Markup) -> Markup:
    return Markup('<div id="{}-log" hx-swap-oob="beforeend">{}</div>').format(widget_id, html)


def append_text(widget_id: str, message_id: int, text: str) -> Markup:
    return Markup('<span id="{}" hx-swap-oob="beforeend">{}</span>').format(output_id(widget_id, message_id), text)


def replace_mark(widget_id: str, message_id: int, status: str, detail: str = "") -> Markup:
    return mark(widget_id, message_id, status, detail, oob=True)


def status(widget_id: str, state: str, text: str | None = None, *, stream_id: str = "") -> Markup:
    return Markup(
        '<div id="{}-status" class="streamui-status" data-streamui="status" data-state="{}" '
        'data-stream="{}" role="status" hx-swap-oob="outerHTML">{}</div>'
    ).format(widget_id, state, stream_id, STATUS_TEXT.get(state, state) if text is None else text)


def error(widget_id: str, message: str) -> Markup:
    return Markup(
        '<div id="{}-error" class="streamui-error" data-streamui="error" role="alert" hx-swap-oob="outerHTML">{}</div>'
    ).format(widget_id, message)


def clear_error(widget_id: str) -> Markup:
    return error(widget_id, "")


def conversation_input(widget_id: str, conversation_id: str) -> Markup:
    return Markup(
        '<input type="hidden" name="conversation" id="{}-conversation" value="{}" hx-swap-oob="outerHTML">'
    ).format(widget_id, conversation_id)


def clear_log(widget_id: str) -> Markup:
    return Markup('<div id="{}-log" hx-swap-oob="innerHTML"></div>').format(widget_id)


FIGURE_LABELS = {
    "ttft": "first visible token",
    "shown": "tokens shown",
    "generated": "tokens generated",
    "elapsed": "elapsed",
    "strategy": "smoothing",
}


def figures(widget_id: str, values: dict[str, str]) -> Markup:
    items = Markup("").join(
        Markup('<div><dt>{}</dt><dd data-figure="{}">{}</dd></div>').format(FIGURE_LABELS.get(key, key), key, value)
        for key, value in values.items()
    )
    return Markup(
        '<dl id="{}-figures" class="streamui-figures" data-streamui="figures" hx-swap-oob="outerHTML">{}</dl>'
    ).format(widget_id, items)


__all__ = [
    "escape",
    "turn_id",
    "output_id",
    "user_turn",
    "assistant_turn",
    "append_to_log",
    "append_text",
    "replace_mark",
    "status",
    "error",
    "clear_error",
    "conversation_input",
    "clear_log",
    "figures",
]
