"""A socket's frames as the widget reads them (streamui.wire), for tests and the soak, which read HTML.

`decode(raw, conn)` parses one frame and gives it back with `content` holding the htmx HTML
its compact operations stand for, and `seq`/`stream` filled in where the frame implied them
(the widget's own bookkeeping, streamui.js). A text append becomes the very fragment the
pipeline made; a freeze and a figures delta become pseudo swaps that tools.loadgen.oob_dom
applies (`hx-swap-oob="freeze:N"`, `hx-swap-oob="figures"`), as streamui.js does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from streamui import fragments
from streamui.wire import read_payload


@dataclass(slots=True)
class FrameReader:
    target: str | None = None
    seq: int | None = None
    stream: str | None = None
    figures_id: str | None = None
    widget_id: str | None = None  # for `s`/`u`, which name no element: learnt from the connection's path
    output: str | None = None  # the output the last q, p, o or r named (streamui.wire leaves it out then)
    sent_prompt: str = ""  # the prompt this socket sent last, which `u` may leave out (streamui.wire_turn)
    conversation: str = ""  # the conversation the widget holds, which `u` leaves out when it is unchanged
    compact_frames: int = 0
    kinds: list[str] = field(default_factory=list)

    def read(self, raw: str | bytes) -> dict[str, Any]:
        text = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else raw
        data = read_payload(text)
        if isinstance(data, str):
            data = {"a": data}  # a text append, raw or a JSON string
        assert isinstance(data, dict), raw
        parts: list[str] = []
        compact = "content" not in data and any(k in data for k in ("a", "h", "z", "r", "f", "F", "g", "k", "s"))
        if compact:
            self.compact_frames += 1
        for key in ("q", "p", "o", "r"):  # an output left out is the last one named, as streamui.js reads it
            if key == "o" and "z" in data and "o" not in data:
                data["o"] = self.output
            elif key in data:
                named = data[key][0] if key == "r" else data[key].split(" ", 1)[0]
                if named.isdigit():  # a message's output by its number (streamui.wire)
                    full = fragments.output_id(int(named))
                    data[key] = [full, data[key][1]] if key == "r" else full + data[key][len(named):]
                    named = full
                if named:
                    self.output = named
                elif key == "r":
                    data["r"] = [self.output, data["r"][1]]
                else:
                    data[key] = f"{self.output}{data[key]}"
        if "u" in data:
            user, answer, prompt, conversation = [*data["u"], None, None][:4]
            prompt = self.sent_prompt if prompt is None else prompt  # left out: what this socket sent
            self.conversation = conversation = self.conversation if conversation is None else conversation
            assert self.widget_id is not None, f"a turn before the widget is known: {raw!r}"
            parts.append("".join(str(p) for p in (
                fragments.clear_error(self.widget_id), fragments.conversation_input(self.widget_id, conversation),
                fragments.append_to_log(self.widget_id, fragments.user_turn(user, prompt)
                                        + fragments.assistant_turn(answer)))))
        if "t" in data:
            self.target = data["t"]
        if "q" in data:
            out, *tags = data["q"].split(" ")
            self.target = " > ".join([f"#{out}-tail", *(f"{tag}:last-child" for tag in tags)])
        if "a" in data:
            assert self.target is not None, f"a text append before any target: {raw!r}"
            parts.append(str(Markup('<div hx-swap-oob="beforeend:{}">{}</div>').format(self.target, data["a"])))
        if "h" in data:
            out, *tags = data["p"].split(" ")
            selector = " > ".join([f"#{out}-tail", *(f"{tag}:last-child" for tag in tags)])
            parts.append(str(Markup('<div hx-swap-oob="beforeend:{}">{}</div>').format(selector, Markup(data["h"]))))
        if "z" in data:
            parts.append(str(Markup('<div id="{}-blocks" hx-swap-oob="freeze:{}"></div>').format(data["o"], data["z"])))
        if "r" in data:
            parts.append(str(fragments.replace_tail(data["r"][0], data["r"][1])))
        if "F" in data:
            assert self.widget_id is not None, f"figures before the widget is known: {raw!r}"
            self.figures_id = f"{self.widget_id}-figures"
            values = dict(zip(fragments.FIGURE_KEYS, data["F"], strict=True))
            parts.append(str(fragments.figures(self.widget_id, values)))
        if "g" in data:
            data["f"] = {k: v for k, v in zip(fragments.FIGURE_KEYS, data["g"], strict=False) if v is not None}
        if "f" in data:
            assert self.figures_id is not None, f"a figures delta before the figures: {raw!r}"
            parts.append(str(Markup('<dl id="{}" hx-swap-oob="figures">{}</dl>').format(
                self.figures_id, Markup("").join(Markup('<dd data-figure="{}">{}</dd>').format(k, v)
                                                 for k, v in data["f"].items()))))
        if "k" in data:
            mark_id, status, title, label = [*data["k"], "", ""][:4]
            if isinstance(mark_id, int):  # the message's id (streamui.wire)
                mark_id = f"{fragments.turn_id(mark_id)}-mark"
            parts.append(str(Markup('<span class="streamui-mark" id="{}" data-status="{}" title="{}" '
                                    'hx-swap-oob="outerHTML">{}</span>').format(mark_id, status, title, label)))
        content = data.get("content")
        if isinstance(content, str):
            marker = content.find('-figures" class="streamui-figures"')
            if marker >= 0:
                self.figures_id = content[content.rfind('id="', 0, marker) + 4: marker] + "-figures"
            parts.append(content)
        if isinstance(data.get("seq"), int):
            self.seq = data["seq"]
            if isinstance(data.get("stream"), str):
                self.stream = data["stream"]
            data.setdefault("stream", self.stream)
        elif compact and isinstance(data.get("stream"), str):  # a new stream's first entry
            self.seq, self.stream = 1, data["stream"]
            data["seq"] = 1
        elif compact:
            assert self.seq is not None, f"an implied seq with no seq before it: {raw!r}"
            self.seq += 1
            data["seq"], data["stream"] = self.seq, self.stream
        if "s" in data:
            state, stream, *rest = data["s"]
            label = rest[0] if rest else fragments.STATUS_TEXT.get(state, state)  # the widget's own label
            if stream == 0:  # the frame's own stream (streamui.wire)
                stream = data["stream"]
            assert self.widget_id is not None, f"a status before the widget is known: {raw!r}"
            parts.append(str(fragments.status(self.widget_id, state, label, stream_id=stream)))
        self.kinds.append("+".join(sorted(k for k in data if k not in ("seq", "stream"))))
        return {**data, "content": "".join(parts)}


_readers: dict[int, FrameReader] = {}


def _widget_of(conn: object) -> str | None:
    """The widget id in a connection's path (`/ws/streamui/chat/<widget>/`)."""
    scope = getattr(conn, "scope", None)
    request = getattr(conn, "request", None)
    for path in (scope.get("path") if isinstance(scope, dict) else None, getattr(request, "path", None),
                 getattr(conn, "path", None)):
        if isinstance(path, str) and (m := re.search(r"/chat/([\w-]+)/", path)):
            return m.group(1)
    return None


def reader_for(conn: object) -> FrameReader:
    """The frame reader of one connection (a communicator or a websockets client)."""
    return _readers.setdefault(id(conn), FrameReader(widget_id=_widget_of(conn)))


def decode(raw: str | bytes, conn: object) -> dict[str, Any]:
    return reader_for(conn).read(raw)


def note_send(conn: object, prompt: str) -> None:
    """A `send` this connection made: the prompt its turn frame may leave out."""
    reader_for(conn).sent_prompt = prompt


def note_message(conn: object, raw: str | bytes) -> None:
    """A message this connection sent, whatever it is: when it is a `send` with a text prompt, `note_send`."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return
    if isinstance(data, dict) and data.get("action", "send") == "send" and isinstance(data.get("prompt"), str):
        note_send(conn, data["prompt"])


__all__ = ["FrameReader", "decode", "note_message", "note_send", "reader_for"]
