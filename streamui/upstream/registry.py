"""Which upstreams a site offers, by name: what the playground picker and the widget choose from.

Names: "openai" (the configured OpenAI-compatible server), "custom" (the site's own
generator), "simulated:<profile>" (the embedded simulated LLM), "trace:<file stem>" (a
recorded trace from REPLAY_TRACES, replayed with its own timing).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..conf import get_config
from .base import Upstream
from ..testing.profiles import PROFILES


@dataclass(frozen=True, slots=True)
class UpstreamChoice:
    name: str
    label: str


def available_upstreams() -> list[UpstreamChoice]:
    config = get_config()
    choices: list[UpstreamChoice] = []
    if config["UPSTREAM_URL"]:
        from .openai import public_url

        choices.append(UpstreamChoice("openai", f"{config['UPSTREAM_MODEL']} at {public_url(config['UPSTREAM_URL'])}"))
    if config["UPSTREAM_CALLABLE"]:
        choices.append(UpstreamChoice("custom", f"site code: {config['UPSTREAM_CALLABLE']}"))
    choices.extend(UpstreamChoice(f"simulated:{name}", f"simulated, {name}") for name in PROFILES)
    choices.extend(UpstreamChoice(f"trace:{path.stem}", f"replay trace {path.stem}") for path in replay_traces())
    return choices


def replay_traces() -> list[Path]:
    return [Path(p) for p in get_config()["REPLAY_TRACES"] or []]


def default_upstream_name() -> str:
    config = get_config()
    if config["DEFAULT_UPSTREAM"]:
        return str(config["DEFAULT_UPSTREAM"])
    if config["UPSTREAM_URL"]:
        return "openai"
    if config["UPSTREAM_CALLABLE"]:
        return "custom"
    return f"simulated:{config['SIMULATED_PROFILE']}"


def get_upstream(name: str | None) -> Upstream:
    """The upstream called `name` (None: the default); ValueError for a name not offered."""
    name = name or default_upstream_name()
    if name not in {choice.name for choice in available_upstreams()}:
        raise ValueError(f"unknown upstream {name!r}")
    config = get_config()
    if name == "openai":
        from .openai import OpenAICompatibleUpstream

        return OpenAICompatibleUpstream(
            base_url=config["UPSTREAM_URL"],
            model=config["UPSTREAM_MODEL"],
            api_key=config["UPSTREAM_API_KEY"],
            connect_timeout=float(config["UPSTREAM_CONNECT_TIMEOUT"]),
            idle_timeout=float(config["UPSTREAM_IDLE_TIMEOUT"]),
        )
    if name == "custom":
        from .custom import CallableUpstream

        return CallableUpstream(config["UPSTREAM_CALLABLE"])
    from ..testing.simulated import SimulatedUpstream, TraceUpstream

    if name.startswith("trace:"):
        path = next(p for p in replay_traces() if p.stem == name.split(":", 1)[1])
        return TraceUpstream(path, speed=float(config["SIMULATED_SPEED"]))
    profile = name.split(":", 1)[1]
    return SimulatedUpstream(profile=profile, speed=float(config["SIMULATED_SPEED"]))


__all__ = ["UpstreamChoice", "available_upstreams", "default_upstream_name", "get_upstream"]
