"""Which upstreams a site offers, by name: what the playground picker and the widget choose from.

Names: "openai" (the server of UPSTREAM_URL), each key of UPSTREAMS (a class by dotted path,
built with its OPTIONS), "custom" (the site's own generator), "simulated:<profile>" (the
embedded simulated LLM), "trace:<file stem>" (a recorded trace from REPLAY_TRACES, replayed
with its own timing).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..conf import Settings, get_settings
from ..testing.profiles import PROFILES
from .base import Upstream


@dataclass(frozen=True, slots=True)
class UpstreamChoice:
    name: str
    label: str


def _named_label(name: str, backend: str, label: str) -> str:
    return label or f"{name} ({backend.rsplit('.', 1)[-1]})"


def available_upstreams(current: Settings | None = None) -> list[UpstreamChoice]:
    current = current or get_settings()
    choices: list[UpstreamChoice] = []
    if current.upstream_url:
        from .openai import public_url

        choices.append(UpstreamChoice("openai", f"{current.upstream_model} at {public_url(current.upstream_url)}"))
    choices.extend(UpstreamChoice(name, _named_label(name, entry.backend, entry.label))
                   for name, entry in current.upstreams.items())
    if current.upstream_callable:
        choices.append(UpstreamChoice("custom", f"site code: {current.upstream_callable}"))
    choices.extend(UpstreamChoice(f"simulated:{name}", f"simulated, {name}") for name in PROFILES)
    choices.extend(UpstreamChoice(f"trace:{path.stem}", f"replay trace {path.stem}") for path in replay_traces(current))
    return choices


def replay_traces(current: Settings | None = None) -> list[Path]:
    return [Path(p) for p in (current or get_settings()).replay_traces]


def default_upstream_name() -> str:
    current = get_settings()
    if current.default_upstream:
        return current.default_upstream
    if current.upstream_url:
        return "openai"
    if current.upstreams:
        return next(iter(current.upstreams))
    if current.upstream_callable:
        return "custom"
    return f"simulated:{current.simulated_profile}"


def is_simulated(name: str | None) -> bool:
    """Whether the named upstream (None: the default) is the simulated model or a trace replay."""
    return (name or default_upstream_name()).startswith(("simulated:", "trace:"))


# HTTP upstreams keep a connection pool, so one instance serves every stream until the settings
# change; the simulated ones are cheap and take per-stream options, so they are built each time.
_shared: dict[str, Upstream] = {}
_shared_for: list[Settings] = []


def get_upstream(name: str | None) -> Upstream:
    """The upstream called `name` (None: the default); ValueError for a name not offered."""
    name = name or default_upstream_name()
    if name not in {choice.name for choice in available_upstreams()}:
        raise ValueError(f"unknown upstream {name!r}")
    current = get_settings()
    if name == "openai" or name in current.upstreams:
        if not _shared_for or _shared_for[0] is not current:
            _shared.clear()
            _shared_for[:] = [current]
        if name not in _shared:
            _shared[name] = _build(name, current)
        return _shared[name]
    return _build(name, current)


def _build(name: str, current: Settings) -> Upstream:
    if name == "openai":
        from .openai import OpenAICompatibleUpstream

        return OpenAICompatibleUpstream(
            base_url=current.upstream_url or "",
            model=current.upstream_model,
            api_key=current.upstream_api_key,
            connect_timeout=current.upstream_connect_timeout,
            idle_timeout=current.upstream_idle_timeout,
            implied_think=current.upstream_implied_think,
        )
    if name in current.upstreams:
        from ..extensions import upstream_class

        entry = current.upstreams[name]
        upstream: Upstream = upstream_class(entry.backend)(**entry.options)
        return upstream
    if name == "custom":
        from .custom import CallableUpstream

        return CallableUpstream(current.upstream_callable or "")
    from ..testing.simulated import SimulatedUpstream, TraceUpstream

    if name.startswith("trace:"):
        path = next(p for p in replay_traces(current) if p.stem == name.split(":", 1)[1])
        return TraceUpstream(path, speed=current.simulated_speed)
    profile = name.split(":", 1)[1]
    return SimulatedUpstream(profile=profile, speed=current.simulated_speed)


__all__ = ["UpstreamChoice", "available_upstreams", "default_upstream_name", "get_upstream", "is_simulated"]
