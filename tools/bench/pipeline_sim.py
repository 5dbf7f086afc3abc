"""The old name of the commit pipeline's virtual-clock run, kept for the callers that still use it
(tools/bench/corrections_bench.py): `simulate_pipeline` is `streamui.pipeline.virtual.run_pipeline`,
the very `ChatPipeline` the live path drives; the visible-text helpers are in `visible.py`."""

from __future__ import annotations

from streamui.pipeline.virtual import PipelineRun
from streamui.pipeline.virtual import run_pipeline as simulate_pipeline

from .visible import (
    PlacedMark,
    ReplayUpstream,
    naive_states,
    retracted_chars,
    upstream_until_end,
    visible_states,
    visible_text_of,
)

__all__ = [
    "PipelineRun",
    "PlacedMark",
    "ReplayUpstream",
    "naive_states",
    "retracted_chars",
    "simulate_pipeline",
    "upstream_until_end",
    "visible_states",
    "visible_text_of",
]
