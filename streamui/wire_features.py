"""The wire's compact forms, each a switch (`Features`): all on by default; `LEGACY` is every frame
as plain htmx HTML, what the widget was sent before issue 9. The benchmarks (tools.bench.wire_bytes)
turn them on one by one to show what each saves. Plain Python, no Django."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Features:
    text: bool = True  # `a`/`t` frames for text appends
    figures: bool = True  # `f` deltas after the first full figures
    freeze: bool = True  # `z` moves instead of re-sent frozen blocks
    stream_once: bool = True  # `stream` only when it changed
    seq_implied: bool = True  # no `seq` on a compact frame that is the next entry whole
    bare_text: bool = True  # a frame that is only `a` is the JSON string of its text
    raw_text: bool = True  # ... or the text itself, when it does not start with `{` or `"` (`payload`)
    markup: bool = True  # `h`/`p` frames for appends of the tail's own (trusted) markup
    short_target: bool = True  # `q` paths instead of `t` selectors
    status: bool = True  # `s` instead of the status div
    mark: bool = True  # `k` instead of the mark span
    turn: bool = True  # `u` instead of the turn's HTML in answer to `send`
    figures_template: bool = True  # `F` values instead of a socket's first figures' HTML
    replace_tail: bool = True  # `r` instead of an innerHTML swap of a tail
    figures_list: bool = True  # `g` (values by position) instead of `f` (by key)
    same_output: bool = True  # the output a frame names left out when it is the socket's last
    status_stream: bool = True  # `0` in `s` for the frame's own stream, not its id again
    raw_markup: bool = True  # a lone `h` into the last output's open path: its depth digit and the markup
    turn_sent: bool = True  # `u` leaves out the prompt and conversation the widget sent
    status_label: bool = True  # `s` without the label: the widget holds `fragments.STATUS_TEXT`
    mark_id: bool = True  # `k` names the answer by its message id; trailing "" left out
    seq_first: bool = True  # a compact frame that names a new stream is its first entry (seq 1)
    whole_freeze: bool = True  # a freeze of the whole tail is not followed by its emptying `r`
    output_number: bool = True  # an output `su-mN-out` named as `N` in q/p/o/r


LEGACY = Features(text=False, figures=False, freeze=False, stream_once=False, seq_implied=False, bare_text=False,
                  raw_text=False,
                  markup=False, short_target=False, status=False, mark=False, turn=False,
                  figures_template=False, replace_tail=False, figures_list=False,
                  same_output=False, status_stream=False, raw_markup=False, turn_sent=False,
                  status_label=False, mark_id=False, seq_first=False, whole_freeze=False, output_number=False)
ALL_ON = Features()


__all__ = ["ALL_ON", "LEGACY", "Features"]
