"""The real-upstream cost benchmark runs end to end: the fake LLM in its own process, the adapter and
the socket floor both read whole answers, and the table has a row per count (numbers read, not asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_upstream_cost_reads_every_answer_through_the_adapter_and_the_floor() -> None:
    done = subprocess.run([sys.executable, "-m", "tools.bench.upstream_cost", "--streams", "1,3", "--rounds", "1",
                           "--max-tokens", "40"], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = re.findall(r"^\| (\d+) \| ([\d,]+) \| ([\d.]+) µs \| ([\d.]+) µs \|", done.stdout, re.M)
    assert [int(streams) for streams, *_ in rows] == [1, 3], done.stdout
    for streams, tokens, adapter, floor in rows:
        assert int(tokens.replace(",", "")) >= 20 * int(streams), done.stdout  # whole answers, not errors
        assert float(adapter) > 0 and float(floor) > 0
    assert "UpstreamError" not in done.stderr and "Timeout" not in done.stderr, done.stderr[-2000:]
