"""The corpus of real stream shapes (tests/upstream/shapes/): loading and checking a replay.

Each shape is NAME.sse (the response body, byte for byte as the server sends it) and
NAME.json (provider, source, what it demonstrates, the status and Content-Type it comes
with, adapter options, and the expected end state). `tuning/` is what the adapters
were built against; `heldout/` was added last and is only ever run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamui.upstream.anthropic import AnthropicUpstream
from streamui.upstream.http import HTTPUpstream
from streamui.upstream.openai import OpenAICompatibleUpstream
from streamui.upstream.outcome import Transcript

SHAPES = Path(__file__).parent / "shapes"
SPLITS = ("tuning", "heldout")


@dataclass(frozen=True)
class Shape:
    name: str
    split: str
    body: bytes
    meta: dict[str, Any]

    @property
    def expect(self) -> dict[str, Any]:
        return self.meta["expect"]


def load(split: str) -> list[Shape]:
    shapes = []
    for meta_path in sorted((SHAPES / split).glob("*.json")):
        meta = json.loads(meta_path.read_text())
        shapes.append(Shape(meta_path.stem, split, meta_path.with_suffix(".sse").read_bytes(), meta))
    return shapes


def adapter(shape: Shape, base_url: str, **kwargs: Any) -> HTTPUpstream:
    options = {**shape.meta.get("options", {}), **kwargs}
    if shape.meta.get("protocol") == "anthropic":
        options.pop("implied_think", None)
        return AnthropicUpstream(base_url=base_url, model="claude-test", api_key="sk-ant-test", **options)
    return OpenAICompatibleUpstream(base_url=base_url, model="test-model", api_key="sk-test", **options)


def mismatches(shape: Shape, seen: Transcript) -> list[str]:
    """How the replayed end state differs from the expected one (empty: it matches)."""
    exp = shape.expect
    out: list[str] = []

    def check(label: str, got: Any, want: Any) -> None:
        if got != want:
            out.append(f"{label}: got {got!r}, want {want!r}")

    check("state", seen.state, exp["state"])
    for key in ("text", "reasoning", "refusal"):
        if key in exp:
            check(key, getattr(seen, key), exp[key])
    if "tool_calls" in exp:
        calls = [{"id": c.call_id, "name": c.name, "arguments": c.arguments}
                 for _, c in sorted(seen.tool_calls.items())]
        check("tool_calls", calls, exp["tool_calls"])
    if exp.get("usage") is not None:
        check("usage", [seen.prompt_tokens, seen.completion_tokens], exp["usage"])
    if exp["state"] != "interrupted":
        assert seen.end is not None or out
        if seen.end is not None:
            check("finish_reason", seen.end.reason, exp.get("finish_reason", seen.end.reason))
            if "provider_reason" in exp:
                check("provider_reason", seen.end.provider_reason, exp["provider_reason"])
    elif seen.error is not None:
        check("error kind", seen.error.kind, exp.get("error_kind", seen.error.kind))
        if "error_status" in exp:
            check("error status", seen.error.status, exp["error_status"])
        for needle in exp.get("error_message_contains", []):
            if needle not in seen.error.message:
                out.append(f"error message {seen.error.message!r} lacks {needle!r}")
        for raw in ("httpx", "Traceback", "RemoteProtocolError"):
            if raw in seen.error.message:
                out.append(f"error message shows raw transport text {raw!r}: {seen.error.message!r}")
    return out


__all__ = ["SPLITS", "Shape", "adapter", "load", "mismatches"]
