"""Test and demo aids that ship with streamui, as `channels.testing` ships with channels.

- `SimulatedUpstream`: the embedded simulated LLM (real GPT-4o answers, cut into tokens and
  timed by a profile: steady, bursty, stalls, reasoning, json, speculative, corrections, tools);
- `TraceUpstream`: replays a recorded trace file with its own timing;
- `FakeLLMServer` / `FakeLLMServerThread`: an OpenAI-compatible HTTP server on a loopback port
  serving the simulated LLM, with fault injection (`manage.py streamui_fake_llm`).

A site's tests can point `OpenAICompatibleUpstream` at a `FakeLLMServerThread` to exercise the
real HTTP path without a model.
"""

from __future__ import annotations

from .fake_server import FakeLLMServer, FakeLLMServerThread, Faults
from .profiles import PROFILES
from .simulated import SimulatedUpstream, TraceUpstream

__all__ = ["PROFILES", "FakeLLMServer", "FakeLLMServerThread", "Faults", "SimulatedUpstream", "TraceUpstream"]
