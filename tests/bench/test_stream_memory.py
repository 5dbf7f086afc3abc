"""The stream memory benchmark runs end to end and reports each figure (its numbers are read, not asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_stream_memory_reports_live_and_finished_streams() -> None:
    done = subprocess.run([sys.executable, "-m", "tools.bench.stream_memory", "--streams", "3"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "were running mid-stream" not in done.stderr  # every stream was measured where it should be
    figures = dict(re.findall(r"^\| (.+?) \| ([\d.]+) KiB \|$", done.stdout, re.M))
    assert set(figures) >= {"an open idle socket (consumer, session)", "a live stream, on top of its socket",
                            "a finished stream kept for resume, socket closed"}, done.stdout
