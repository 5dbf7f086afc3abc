#!/usr/bin/env python3
"""Write the benchmark's trace corpus under bench/traces/.

    python scripts/generate_bench_traces.py                 # generated/ from the simulated LLM
    python scripts/generate_bench_traces.py --gpt4o-from DIR   # re-import the GPT-4o capture (a folder of its traces)

Every trace's header carries `"split": "tuning"` or `"split": "heldout"`. Strategy
constants are tuned on the tuning split only; the held-out split is what shows
whether they generalise. Generated traces: each profile of the simulated LLM with
its own seeds per split (the stalls profile always stalls here, since a stall is
what it exists to test). GPT-4o traces: the first `GPT4O_TUNING` by index tune, the
rest are held out. Re-running rewrites the same files byte for byte.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamui.testing.profiles import PROFILES, build_trace  # noqa: E402
from streamui.testing.simulated import answer_corpus  # noqa: E402
from streamui.upstream.traces import write_trace  # noqa: E402

OUT = ROOT / "bench" / "traces"
GPT4O_TUNING = 90
SEEDS = {"tuning": range(1, 5), "heldout": range(501, 505)}
STALL_SEEDS = {"tuning": range(1, 9), "heldout": range(501, 509)}


def generate(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    answers = answer_corpus()
    written = 0
    for profile in PROFILES:
        seeds = STALL_SEEDS if profile == "stalls" else SEEDS
        for split, split_seeds in seeds.items():
            for seed in split_seeds:
                answer = answers[(seed * 7 + len(profile)) % len(answers)].answer
                trace = build_trace(
                    profile,
                    answer,
                    seed=seed,
                    force_stall=True if profile == "stalls" else None,
                    name=f"{profile}-{seed}",
                )
                trace.header["split"] = split
                with (out / f"{trace.name}.jsonl").open("w", encoding="utf-8") as fh:
                    write_trace(trace, fh)
                written += 1
    return written


def import_gpt4o(source: Path, out: Path) -> int:
    """Copy the capture's traces, adding the split to each header and nothing else."""
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(source.glob("gpt4o-*.jsonl"))
    for index, path in enumerate(files):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        header = json.loads(lines[0])
        if "streamui_trace" not in header:
            raise SystemExit(f"{path}: no header line")
        header["split"] = "tuning" if index < GPT4O_TUNING else "heldout"
        lines[0] = json.dumps(header, ensure_ascii=False) + "\n"
        (out / path.name).write_text("".join(lines), encoding="utf-8")
    return len(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gpt4o-from", type=Path, help="import the GPT-4o capture's traces from this folder")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.gpt4o_from:
        n = import_gpt4o(args.gpt4o_from, args.out / "gpt4o")
        print(f"imported {n} GPT-4o traces into {args.out / 'gpt4o'}")
    else:
        n = generate(args.out / "generated")
        print(f"wrote {n} generated traces into {args.out / 'generated'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
