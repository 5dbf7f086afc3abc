"""The websocket's frames: a journal entry as the fewest bytes that make the same DOM.

Every frame is a JSON object. `content` is htmx out-of-band HTML, as always; besides it a
frame may carry compact operations that streamui.js applies (in this order, before htmx
swaps `content`):

- `a` (with `t`, a CSS selector, when the target changed since this socket's last `t`):
  text appended as a text node to every element the selector names. Only a pure text
  append (escaped text, no markup) is sent so; the widget never parses it as HTML.
- `h` (with `p`, `OUT tag tag...`): the tail's own markup (trusted renderer HTML, the model's
  text escaped in it) appended to `#OUT-tail > tag:last-child > ...`, as htmx's
  `beforeend:<selector>` would.
- `z` (with `o`, an output id): a freeze. The first `z` elements of `o`-tail, and the text
  between and after them up to the next element, move into `o`-blocks. Sent instead of the
  frozen block's HTML, which the client already shows in its tail; the lane marks a block
  as movable only when its HTML is, byte for byte, the start of the tail the client holds.
- `r` (`[OUT, markup]`): the tail's own markup (trusted renderer HTML) replacing what `#OUT-tail`
  holds, as htmx's innerHTML swap of `fragments.replace_tail` would (after `z`).
- `f`: live figures that changed since this socket's last figures, by key.
- `F` (the values, in `fragments.FIGURE_KEYS` order): a socket's first figures, when they are those
  keys: the widget's `[data-streamui=figures]` is replaced by a clone of its `<template
  data-streamui=figures-template>` (`figures_template`, fragments.figures with empty values) holding them.
- `g` (instead of `f`, when the figures are `fragments.FIGURE_KEYS`): the changed values by
  position in that order, null for one that did not change, trailing nulls left off.
- `q` (instead of `t`, when the target is an output's tail or a path in it): the target as
  `OUT tag tag...`, `#OUT-tail > tag:last-child > ...` spelled as `p` is.
- `k` (`[id, status, title, label]`): the answer's mark span (`id`) gets that `data-status`,
  `title` and text, what htmx's outerHTML swap of `fragments.replace_mark` leaves.
- `s` (`[state, stream, label]`): the widget's `[data-streamui=status]` element gets that
  `data-state`, `data-stream` and text (the server's label), as `fragments.status` would.
  `stream` is `0` for the frame's own stream (`status_stream`; always so from the journal), which
  the widget already holds: the id was a fifth of a status frame.

The output named by `q`, `p`, `o` and `r` (in that order, the order the widget reads them) is
left out when it is the one this socket named last: `q`/`p` then start with their space
(` ol li`), `r` names `""` and `o` is absent.

Outside the journal, `turn_frame` answers `send`: `u` (`[user id, answer id, prompt,
conversation]`) clears the error, sets the conversation input and appends a clone of the
widget's `<template data-streamui=turn-template>` (rendered by `turn_template`, the very fragments a
stream's turn is made of) with the two ids and the prompt set as text, never parsed.

A frame that would be `{"a": text}` alone (most of a stream's frames) is sent as the text
itself, no JSON at all, when it does not start like JSON (with `{` or `"`): the widget reads
any message that does not as a text append (`payload`). Otherwise it is the JSON string
`text`: the same append, six bytes fewer than the object.

An entry whose fragments do not fall in that order goes out as its HTML, whole.

`seq` is on every journal frame but one kind: a compact frame (no `content`) that is a
whole entry, the one after the last this socket sent, implies it (the widget counts).
`stream` is only on a journal frame whose stream differs from this socket's last one. The
socket's state (`reset` on every follow) is what lets a replay after a gap re-establish the
target: its first append names it again. Plain Python, no Django.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable
from typing import Any, Final

from . import fragments
from .journal import Entry
from .socket_guard import split_fragments
from .wire_features import ALL_ON, LEGACY, Features
from .wire_fragments import FREEZE, MARK, REPLACE_TAIL, markup_append, pieces, short_path, text_append
from .wire_payload import payload, read_payload
from .wire_turn import TEMPLATE_ID, figures_template, status_labels, turn_frame, turn_template

_MARK_ID: Final = re.compile(r"su-m(\d+)-mark")  # fragments.mark's id: `k` names its message id
_OUTPUT_ID: Final = re.compile(r"su-m(\d+)-out")  # fragments.output_id: named by its number

_OPS: Final = ("a", "h", "z", "r", "f", "F", "g", "k", "s")
RenderRest = Callable[[Entry, str, str], str]
"""What an entry shows besides its fragments and figures (`streams.render_entry` of it without them): asked
only of an entry with a state or an error, the only ones with anything besides (most entries are neither)."""


class FrameEncoder:
    """One socket's frames; call `reset()` whenever the socket starts following a stream."""

    def __init__(self, widget_id: str, *, features: Features = ALL_ON, max_bytes: int = 512 * 1024,
                 render_rest: RenderRest | None = None) -> None:
        self.widget_id = widget_id
        self.features = features
        self.max_bytes = max_bytes
        self.render_rest = render_rest or _render_rest
        self.reset()

    def reset(self) -> None:
        self._target: str | None = None
        self._stream: str | None = None
        self._figures: dict[str, str] | None = None
        self._seq: int | None = None
        self._output: str | None = None  # the output the widget last read from `q`, `p`, `o` or `r`

    def entry(self, entry: Entry, stream_id: str) -> list[dict[str, Any] | str]:
        """The frames of one journal entry: one, unless its HTML is over the frame limit. A frame that
        is only a text append (the bulk of a stream) is the bare JSON string of its text."""
        data = self._compact(entry.html)
        if data is None:  # not expressible in the fixed order: the entry's HTML as it is
            data = {"content": entry.html} if entry.html else {}
        figures = self._figures_part(entry.figures)
        rest = (self.render_rest(dataclasses.replace(entry, html="", figures=None), self.widget_id, stream_id)
                if entry.state or entry.error else "")
        if self.features.status and entry.state:
            shown = str(fragments.status(self.widget_id, entry.state, stream_id=stream_id))
            if shown in rest:  # the widget's status line, as render_entry draws it: an `s` op
                rest = rest.replace(shown, "", 1)
                data["s"] = [entry.state, 0 if self.features.status_stream else stream_id]
                if not self.features.status_label:  # else the widget's own (data-status-labels)
                    data["s"].append(fragments.STATUS_TEXT.get(entry.state, entry.state))
        if isinstance(figures, str):
            rest = figures + rest
        elif isinstance(figures, list):
            data["F"] = figures
        elif figures and self.features.figures_list and tuple(entry.figures or ()) == fragments.FIGURE_KEYS:
            values = [figures.get(key) for key in fragments.FIGURE_KEYS]
            while values and values[-1] is None:
                values.pop()
            data["g"] = values
        elif figures:
            data["f"] = figures
        if rest:
            data["content"] = data.get("content", "") + rest
        if not data:
            return []  # nothing to show (figures that did not change): no frame; the next names its seq
        content = data.pop("content", None)
        parts: list[str | None] = list(split_fragments(content, self.max_bytes)) if content is not None else [None]
        out: list[dict[str, Any] | str] = []
        for i, part in enumerate(parts):
            frame = dict(data) if i == 0 else {}
            if part is not None:
                frame["content"] = part
            # A compact frame that is the whole of the next entry implies its seq (the last + 1).
            compact = part is None and any(key in frame for key in _OPS)
            implied = (self.features.seq_implied and compact and self._seq is not None
                       and entry.seq == self._seq + 1)
            # ... and one that names a new stream is that stream's first entry.
            first = (self.features.seq_first and self.features.stream_once and compact and entry.seq == 1
                     and stream_id != self._stream)
            if not (implied or first):
                frame["seq"] = entry.seq
            self._seq = entry.seq
            if not self.features.stream_once or stream_id != self._stream:
                frame["stream"] = self._stream = stream_id
            out.append(frame["a"] if frame.keys() == {"a"} and self.features.bare_text else frame)
        return out

    def _compact(self, markup: str) -> dict[str, Any] | None:
        """The entry's fragments as one frame's operations in the order the widget applies them (text
        append, freeze, htmx content), or None when they do not fall in that order."""
        if not markup or not (self.features.text or self.features.freeze):
            return None
        data: dict[str, Any] = {}
        rank: float = -1  # the last of a (0), h (1), z (2), r (2.2), k (2.5), content (3) taken
        target: str | None = None
        texts: list[str] = []
        content: list[str] = []
        emptied: str | None = None  # the output whose whole tail a freeze moved
        for piece in pieces(markup):
            append = text_append(piece, self.max_bytes) if self.features.text else None
            if append is not None:
                if rank > 0 or (texts and append[0] != target):
                    return None
                rank, target = 0, append[0]
                texts.append(append[1])
                continue
            added = markup_append(piece, self.max_bytes) if self.features.markup else None
            if added is not None:
                if rank >= 1:
                    return None
                rank = 1
                data.update(h=added[1], p=added[0])
                continue
            freeze = FREEZE.match(piece) if self.features.freeze else None
            if freeze is not None:
                if rank >= 2:
                    return None
                rank = 2
                data.update(z=int(freeze.group(2)), o=freeze.group(1))
                if freeze.group(3) and self.features.whole_freeze:
                    emptied = freeze.group(1)  # the freeze leaves the tail empty: its `r ""` says nothing
                continue
            tail = REPLACE_TAIL.fullmatch(piece) if self.features.replace_tail else None
            if tail is not None and rank < 2.2 and len(tail.group(2).encode("utf-8")) * 2 <= self.max_bytes:
                rank = 2.2
                if not (tail.group(2) == "" and tail.group(1) == emptied):
                    data["r"] = [tail.group(1), tail.group(2)]
                continue
            mark = MARK.fullmatch(piece) if self.features.mark else None
            if mark is not None and rank < 3 and "k" not in data:
                rank = 2.5
                data["k"] = self._mark(mark.group(1), mark.group(2), html.unescape(mark.group(3)),
                                       html.unescape(mark.group(4)))
                continue
            rank = 3
            content.append(piece)
        if texts:
            text = "".join(texts)
            if len(text.encode("utf-8")) * 2 > self.max_bytes:
                return None
            data["a"] = text
            if target is not None and target != self._target:
                self._target = target
                path = short_path(target) if self.features.short_target else None
                if path is not None:
                    data["q"] = path
                else:
                    data["t"] = target
        elif not any(key in data for key in ("z", "h", "r", "k")):
            return None  # nothing compact in it
        if content:
            data["content"] = "".join(content)
        if self.features.same_output:
            self._name_outputs(data)
        return data

    def _mark(self, mark_id: str, status: str, title: str, label: str) -> list[Any]:
        """`k`: the mark's id, or its message's (`Features.mark_id`, trailing "" left out)."""
        number = _MARK_ID.fullmatch(mark_id) if self.features.mark_id else None
        if number is None:
            return [mark_id, status, title, label]
        mark: list[Any] = [int(number.group(1)), status, title, label]
        while mark[-1] == "":
            mark.pop()
        return mark

    def _name_outputs(self, data: dict[str, Any]) -> None:
        """Leave out the output of `q`, `p`, `o`, `r` (read in that order) when the widget has it, and
        name one it does not have by its message's number (`Features.output_number`)."""
        for key in ("q", "p", "o", "r"):
            if key not in data:
                continue
            value = data[key]
            output = value[0] if key == "r" else value.split(" ", 1)[0]
            if output != self._output:
                self._output = output
                number = _OUTPUT_ID.fullmatch(output) if self.features.output_number else None
                if number is None:
                    continue
                if key == "r":
                    data["r"] = [number.group(1), value[1]]
                else:
                    data[key] = number.group(1) + value[len(output):]
            elif key == "o":
                del data["o"]
            elif key == "r":
                data["r"] = ["", value[1]]
            else:
                data[key] = value[len(output):]

    def _figures_part(self, figures: dict[str, str] | None) -> dict[str, str] | list[str] | str | None:
        """The figures as what changed (a dict), as the template's values (a list), or as HTML."""
        if not figures:
            return None
        last, self._figures = self._figures, dict(figures)
        if self.features.figures_template and last is None and tuple(figures) == fragments.FIGURE_KEYS:
            return list(figures.values())
        if not self.features.figures or last is None or last.keys() != figures.keys():
            return str(fragments.figures(self.widget_id, figures))
        changed = {k: v for k, v in figures.items() if last.get(k) != v}
        return changed or None

    def turn_frame(self, user_id: int, answer_id: int, prompt: str, conversation_id: str, *,
                   mode: str = "chat", lanes: tuple[str, ...] = ("",),
                   sent: tuple[str, str] | None = None) -> dict[str, Any]:
        """The frame that answers `send` (streamui.wire_turn)."""
        return turn_frame(self.features, self.widget_id, user_id, answer_id, prompt, conversation_id,
                          mode=mode, lanes=lanes, sent=sent)

    @staticmethod
    def plain(content: str) -> dict[str, Any]:
        return {"content": content}


def _render_rest(entry: Entry, widget_id: str, stream_id: str) -> str:
    from .streams import render_entry  # Django models behind it: imported when first used

    return render_entry(entry, widget_id, stream_id)


__all__ = ["LEGACY", "TEMPLATE_ID", "Features", "FrameEncoder", "figures_template", "payload", "read_payload",
           "status_labels", "turn_template"]
