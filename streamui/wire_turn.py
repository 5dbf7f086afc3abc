"""The frame that answers `send` (streamui.wire's `u`) and the templates the widget clones for it and for
the figures (`F`). Plain Python, no Django."""

from __future__ import annotations

import json
from typing import Any, Final

from . import fragments
from .wire_features import Features

TEMPLATE_ID: Final = 0  # the message id of the turn template's placeholders (no message has it)


def turn_template() -> str:
    """The turn shell `u` clones: a user turn and an empty one-lane chat answer, ids of TEMPLATE_ID."""
    return str(fragments.user_turn(TEMPLATE_ID, "") + fragments.assistant_turn(TEMPLATE_ID))


def figures_template(widget_id: str) -> str:
    """The figures `F` clones: every figure, no value yet."""
    return str(fragments.figures(widget_id, dict.fromkeys(fragments.FIGURE_KEYS, "")))


def status_labels() -> str:
    """The status line's text for each state, as JSON: the widget's `data-status-labels`, which
    lets `s` leave its label out (`Features.status_label`)."""
    return json.dumps(fragments.STATUS_TEXT, ensure_ascii=False, separators=(",", ":"))


def turn_frame(features: Features, widget_id: str, user_id: int, answer_id: int, prompt: str,
               conversation_id: str, *, mode: str = "chat", lanes: tuple[str, ...] = ("",),
               sent: tuple[str, str] | None = None) -> dict[str, Any]:
    """The cleared error, the conversation, the new turn. `sent`: the prompt and conversation the
    widget sent, which `u` leaves out (null) when they are what the server took (`Features.turn_sent`)."""
    # The template is a one-lane chat answer; a prompt the HTML parser would change (CR, NUL) goes as HTML.
    if (features.turn and mode == "chat" and lanes == ("",) and "\r" not in prompt and "\x00" not in prompt
            and TEMPLATE_ID not in (user_id, answer_id)):
        turn: list[Any] = [user_id, answer_id, prompt, conversation_id]
        if features.turn_sent and sent is not None:
            turn[2:] = [None if mine == theirs else mine for mine, theirs in zip(turn[2:], sent, strict=True)]
            while turn[-1] is None:
                turn.pop()
        return {"u": turn}
    return {"content": "".join(str(p) for p in (
        fragments.clear_error(widget_id),
        fragments.conversation_input(widget_id, conversation_id),
        fragments.append_to_log(widget_id, fragments.user_turn(user_id, prompt)
                                + fragments.assistant_turn(answer_id, mode=mode, lanes=lanes))))}


__all__ = ["TEMPLATE_ID", "figures_template", "status_labels", "turn_frame", "turn_template"]
