"""Where a frame's microseconds go inside streamui: the live ChatPipeline, rendering on, no transport.

Runs `answers` corpus answers (the simulated LLM's timing `profile`) through the very
`ChatPipeline` the live path drives (commit stage, `strategy`, markdown, fragments),
on the virtual-clock driver, and prints CPU per frame and per token
and the share of each part (measured under cProfile in a second pass). The
transport (Daphne, Twisted, Channels) and the journal
are not in it: `streamui_load`'s floor run measures those.

    python -m tools.bench.frame_cost [--answers 60] [--profile steady] [--strategy adaptive]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Sequence

from streamui.pipeline.chat import ChatPipeline
from streamui.pipeline.commit import CommitStage
from streamui.pipeline.smoothing import make_strategy
from streamui.pipeline.virtual import TimedFrame, drive
from streamui.testing.profiles import build_trace
from streamui.testing.simulated import answer_corpus
from streamui.upstream.events import TextDelta
from streamui.upstream.traces import Trace

# The innermost streamui (or library) file a sample's self time is charged to, by path fragment.
PARTS = (
    ("markdown (markdown-it parse, cut analysis, render)", ("pipeline/markdown", "markdown_it/")),
    ("tail diff (append or replace)", ("pipeline/tail.py",)),
    ("fragments (markupsafe)", ("streamui/fragments.py", "markupsafe/")),
    ("smoothing strategy", ("pipeline/strategies/", "pipeline/smoothing.py")),
    ("commit stage", ("pipeline/commit", "pipeline/correction", "pipeline/think.py")),
    ("lane, pipeline, metrics", ("pipeline/lane.py", "pipeline/chat", "pipeline/metrics.py")),
    ("virtual driver", ("pipeline/virtual.py",)),
)


def _play(traces: list[Trace], strategy: str, frames: list[TimedFrame]) -> float:
    started = time.process_time()
    for trace in traces:
        pipeline = ChatPipeline(message_id=1, strategies=[make_strategy(strategy)], start=0.0,
                                commit=CommitStage("replace"), show_figures=True)
        drive(pipeline, trace.events, frames=frames)
    return time.process_time() - started


def run(answers: int, profile: str, strategy: str) -> tuple[int, int, float, dict[str, float]]:
    """(frames, tokens, CPU seconds without the profiler, share of each part under it)."""
    corpus = answer_corpus()[:answers]
    traces = [build_trace(profile, item.answer, seed=i) for i, item in enumerate(corpus)]
    frames: list[TimedFrame] = []
    tokens = sum(1 for t in traces for e in t.events if isinstance(e.event, TextDelta))
    cpu = _play(traces, strategy, frames)
    prof = cProfile.Profile()
    prof.enable()
    _play(traces, strategy, [])
    prof.disable()
    stats = pstats.Stats(prof)
    shares: dict[str, float] = {name: 0.0 for name, _ in PARTS}
    shares["other (stdlib, re, dataclasses)"] = 0.0
    total = 0.0
    for (path, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        total += tottime
        for name, fragments in PARTS:
            if any(f in path for f in fragments):
                shares[name] += tottime
                break
        else:
            shares["other (stdlib, re, dataclasses)"] += tottime
    return len(frames), tokens, cpu, {k: v / total for k, v in shares.items()} if total else shares


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.frame_cost", description=__doc__)
    parser.add_argument("--answers", type=int, default=60)
    parser.add_argument("--profile", default="steady")
    parser.add_argument("--strategy", default="adaptive")
    args = parser.parse_args(argv)
    frames, tokens, cpu, shares = run(args.answers, args.profile, args.strategy)
    print(f"{args.answers} answers, {tokens} tokens, {frames} frames ({frames / args.answers:.0f} per stream); "
          f"CPU {cpu:.2f} s: {cpu / frames * 1e6:.0f} µs per frame, {cpu / tokens * 1e6:.0f} µs per token")
    for name, share in sorted(shares.items(), key=lambda kv: -kv[1]):
        print(f"  {share * 100:5.1f}%  {share * cpu / frames * 1e6:6.1f} µs/frame  {name}")
    print("shares under cProfile (which inflates small calls), applied to the CPU measured without it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
