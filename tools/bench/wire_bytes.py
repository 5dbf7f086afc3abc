"""Bytes a stream costs on the websocket, against the finished answer's HTML.

Plays corpus answers (the simulated LLM's `profile`) through the real `ChatPipeline`
(commit stage, strategy, markdown, fragments), journals its steps as the hub does (one
entry per frame with its figures, `streaming` first, `done` last), and encodes them with
the consumer's own `streamui.wire.FrameEncoder`, plus the frame that answers the `send`.
The answer's HTML is measured as `streamui_load` does: the finished markdown's blocks.
Prints the median and p90 of bytes / answer HTML for each configuration, step by step, on
two splits of the corpus: `tune` (even positions) and `held-out` (odd positions).

    python -m tools.bench.wire_bytes [--answers 177] [--profile steady] [--strategy adaptive]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

import django

django.setup()

from streamui import fragments  # noqa: E402
from streamui.journal import Entry  # noqa: E402
from streamui.pipeline.chat import ChatPipeline  # noqa: E402
from streamui.pipeline.commit import CommitStage  # noqa: E402
from streamui.pipeline.markdown import FrozenBlock, MarkdownStream  # noqa: E402
from streamui.pipeline.smoothing import make_strategy  # noqa: E402
from streamui.testing.profiles import build_trace  # noqa: E402
from streamui.testing.simulated import answer_corpus  # noqa: E402
from streamui.upstream.traces import Trace  # noqa: E402
from streamui.wire import LEGACY, Features, FrameEncoder, payload  # noqa: E402

WIDGET = "su-w0123456"
_MARKER = re.compile(r' data-su-freeze="\d+"(?: data-su-whole)?')
STREAM = "Q2hhdFN0cmVhbUlkMDEyMzQ1"  # as long as a real stream id (secrets.token_urlsafe(18): 24 characters)
PROMPT = "a prompt of forty characters, about so."
CONVERSATION = "3f2b8c1e-6a4d-4e0b-9c1a-2d7e5f8a9b0c"


@dataclass(frozen=True, slots=True)
class Config:
    name: str
    features: Features
    figures_interval: float
    compact_json: bool  # no spaces, UTF-8 rather than \\u escapes
    figures: bool = True  # the page shows live figures (the playground); the drop-in widget does not
    first_turn: bool = False  # a conversation's first turn: the widget sent no conversation id


_OFF = dict(text=False, figures=False, freeze=False, stream_once=False, seq_implied=False, bare_text=False,
            raw_text=False, markup=False, short_target=False, status=False, mark=False, turn=False,
            figures_template=False, replace_tail=False, figures_list=False, same_output=False,
            status_stream=False, raw_markup=False, turn_sent=False, status_label=False, mark_id=False,
            seq_first=False, whole_freeze=False, output_number=False)
_ISSUE_9 = ("short_target", "status", "mark", "turn", "figures_template", "replace_tail", "figures_list",
            "same_output", "raw_text", "status_stream")
_SHORTER = ("raw_markup", "turn_sent", "status_label", "mark_id", "seq_first", "whole_freeze", "output_number")


def _from(*names: str) -> Features:
    """Everything before issue 9, and these of its changes."""
    return Features(**{**dict.fromkeys(_ISSUE_9 + _SHORTER, False), **dict.fromkeys(names, True)})


def _shorter(*names: str) -> Features:
    """Every change before the eighth round's shorter forms, and these of them."""
    return Features(**{**dict.fromkeys(_SHORTER, False), **dict.fromkeys(names, True)})


def _on(*names: str) -> Features:
    return Features(**{**_OFF, **dict.fromkeys(names, True)})


# Each step adds one change to the one before it.
STEPS = (
    Config("before (today)", LEGACY, 0.2, False),
    Config("+ compact JSON envelope", LEGACY, 0.2, True),
    Config("+ stream id once", _on("stream_once"), 0.2, True),
    Config("+ compact text appends (a/t)", _on("stream_once", "text"), 0.2, True),
    Config("+ figures at most 1/s, when changed", _on("stream_once", "text"), 1.0, True),
    Config("+ figures as changed values (f)", _on("stream_once", "text", "figures"), 1.0, True),
    Config("+ frozen blocks moved, not re-sent (z)", _on("stream_once", "text", "figures", "freeze"), 1.0, True),
    Config("+ seq implied on compact frames", _on("stream_once", "text", "figures", "freeze", "seq_implied"),
           1.0, True),
    Config("+ a lone text append as a bare JSON string",
           Features(markup=False, **dict.fromkeys(_ISSUE_9 + _SHORTER, False)), 1.0, True),
    Config("+ markup appends into the tail (h/p)", _from(), 1.0, True),
    Config("+ tail paths for text targets (q)", _from("short_target"), 1.0, True),
    Config("+ the status line as an op (s)", _from("short_target", "status"), 1.0, True),
    Config("+ the end's mark as an op (k)", _from("short_target", "status", "mark"), 1.0, True),
    Config("+ the turn cloned from a template (u)", _from("short_target", "status", "mark", "turn"), 1.0, True),
    Config("+ first figures as template values (F)", _from(*_ISSUE_9[:5]), 1.0, True),
    Config("+ a tail's new markup without its wrapper (r)", _from(*_ISSUE_9[:6]), 1.0, True),
    Config("+ figures deltas by position (g)", _from(*_ISSUE_9[:7]), 1.0, True),
    Config("+ the socket's last output left out", _from(*_ISSUE_9[:8]), 1.0, True),
    Config("+ a lone text append as the text itself", _from(*_ISSUE_9[:9]), 1.0, True),
    Config("+ a status names its own stream as 0", _shorter(), 1.0, True),
    Config("+ no live figures unless the page shows them", _shorter(), 1.0, True, figures=False),
    Config("+ a lone markup append as its depth and markup", _shorter(*_SHORTER[:1]), 1.0, True, figures=False),
    Config("+ the turn without the prompt the widget sent", _shorter(*_SHORTER[:2]), 1.0, True, figures=False),
    Config("+ status labels from the widget", _shorter(*_SHORTER[:3]), 1.0, True, figures=False),
    Config("+ the mark named by its message id", _shorter(*_SHORTER[:4]), 1.0, True, figures=False),
    Config("+ a new stream's first frame implies seq 1", _shorter(*_SHORTER[:5]), 1.0, True, figures=False),
    Config("+ a freeze of the whole tail needs no emptying", _shorter(*_SHORTER[:6]), 1.0, True, figures=False),
    Config("+ outputs named by their message number", Features(), 1.0, True, figures=False),
    Config("... on a conversation's first turn", Features(), 1.0, True, figures=False, first_turn=True),
)


def journal(trace: Trace, strategy: str, figures_interval: float, figures: bool = True) -> tuple[list[Entry], str]:
    """The entries the hub journals for one answer, and the text it showed."""
    pipeline = ChatPipeline(message_id=1, strategies=[make_strategy(strategy)], start=0.0,
                            commit=CommitStage("replace"), show_figures=figures, figures_interval=figures_interval)
    entries = [Entry(seq=1, state="streaming")]
    events = trace.events
    end_t = events[-1].t if events else 0.0
    i, now = 0, 0.0
    for _ in range(10_000_000):
        ended = pipeline.ended_at is not None
        wake = pipeline.wake_at
        candidates = [t for t in (events[i].t if i < len(events) and not ended else None,
                                  end_t if i >= len(events) and not ended else None, wake) if t is not None]
        now = max(now, min(candidates))
        while i < len(events) and events[i].t <= now and pipeline.ended_at is None:
            pipeline.push(events[i].event, now)
            i += 1
        if i >= len(events) and pipeline.ended_at is None and end_t <= now:
            pipeline.end(now)
        wake = pipeline.wake_at
        if wake is None or wake > now:
            continue
        step = pipeline.poll(now)
        if step.html or step.figures:
            entries.append(Entry(seq=len(entries) + 1, html=step.html, figures=step.figures))
        if step.done:
            break
    # The end as streamui.stream_end journals it: the answer's mark, then the state.
    entries.append(Entry(seq=len(entries) + 1, state="done", html=str(fragments.replace_mark(2, "complete"))))
    return entries, pipeline.shown_text


def answer_html(text: str) -> int:
    md = MarkdownStream()
    return sum(len(u.html) for u in md.append(text) + md.finish() if isinstance(u, FrozenBlock))


def send_frame(encoder: FrameEncoder, first_turn: bool = False) -> dict[str, Any]:
    """What the consumer sends in answer to `send` (the user's turn and the answer's empty shell); on
    a conversation's first turn the widget sent no conversation id."""
    return encoder.turn_frame(1, 2, PROMPT, CONVERSATION, sent=(PROMPT, "" if first_turn else CONVERSATION))


def encode(entries: list[Entry], config: Config) -> int:
    dumps = (lambda d: json.dumps(d, ensure_ascii=False, separators=(",", ":"))) if config.compact_json \
        else json.dumps
    encoder = FrameEncoder(WIDGET, features=config.features)
    total = len(payload(send_frame(encoder, config.first_turn), config.features).encode("utf-8")
                if config.compact_json else dumps(send_frame(encoder, config.first_turn)).encode("utf-8"))
    for entry in entries:
        if not config.features.freeze:  # today's fragments had no freeze marker
            entry = dataclasses.replace(entry, html=_MARKER.sub("", entry.html))
        for frame in encoder.entry(entry, STREAM):
            message = payload(frame, config.features) if config.compact_json else dumps(frame)
            total += len(message.encode("utf-8"))
    return total


Sizes = dict[str, dict[str, list[tuple[int, int]]]]  # step -> split -> (answer HTML, bytes) per answer


def run(answers: int, profile: str, strategy: str) -> Sizes:
    corpus = answer_corpus()[:answers]
    sizes: Sizes = {c.name: {"tune": [], "held-out": []} for c in STEPS}
    for i, item in enumerate(corpus):
        split = "tune" if i % 2 == 0 else "held-out"
        trace = build_trace(profile, item.answer, seed=i)
        played: dict[tuple[float, bool], tuple[list[Entry], str]] = {}
        for config in STEPS:
            key = (config.figures_interval, config.figures)
            if key not in played:
                played[key] = journal(trace, strategy, *key)
            entries, shown = played[key]
            html = answer_html(shown)
            if html:
                sizes[config.name][split].append((html, encode(entries, config)))
    return sizes


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.wire_bytes", description=__doc__)
    parser.add_argument("--answers", type=int, default=len(answer_corpus()))
    parser.add_argument("--profile", default="steady")
    parser.add_argument("--strategy", default="adaptive")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = run(args.answers, args.profile, args.strategy)
    table: list[dict[str, Any]] = []
    for name, by_split in sizes.items():
        row: dict[str, Any] = {"step": name}
        for split, pairs in by_split.items():
            ratios = [b / h for h, b in pairs]
            row[f"{split} median"] = round(statistics.median(ratios), 2)
            row[f"{split} p90"] = round(p90(ratios), 2)
            row[f"{split} max"] = round(max(ratios), 2)
            # Linear in the answer: bytes = fixed + slope x answer HTML (least squares).
            slope, fixed = statistics.linear_regression([h for h, _ in pairs], [b for _, b in pairs])
            row[f"{split} slope"], row[f"{split} fixed"] = round(slope, 2), round(fixed)
        table.append(row)
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    n = {split: len(v) for split, v in next(iter(sizes.values())).items()}
    print(f"bytes per stream / answer HTML ({args.profile}, {args.strategy}; "
          f"tune {n['tune']} answers, held-out {n['held-out']}); slope and fixed: bytes = fixed + slope x HTML")
    cols = [f"{s} {w}" for s in ("tune", "held-out") for w in ("median", "p90", "max", "slope", "fixed")]
    print(f"{'step':48} " + " ".join(f"{c:>15}" for c in cols))
    for row in table:
        print(f"{row['step']:48} " + " ".join(f"{row[c]:>15}" for c in cols))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
