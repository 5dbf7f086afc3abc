"""A/B arms for smoothing strategies: sticky per visitor, weighted, forceable from the playground.

STREAMUI["AB_ARMS"] maps strategy names to weights, e.g. {"passthrough": 1, "adaptive": 1}.
A visitor's arm is a pure function of who they are and the arms, so it needs no storage
and stays the same across tabs, reloads and workers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .conf import get_settings
from .pipeline.smoothing import strategy_names

AUTO = "auto"


@dataclass(frozen=True, slots=True)
class Assignment:
    strategy: str
    arm: str  # the arm name when assigned by the experiment, "" when not in one, "forced:<name>" when chosen


def arms(setting: str = "AB_ARMS", known: list[str] | None = None) -> dict[str, float]:
    configured = getattr(get_settings(), setting.lower())
    known_names = set(strategy_names() if known is None else known)
    unknown = [name for name in configured if name not in known_names]
    if unknown:
        kind = "strategies" if known is None else "names"
        raise ValueError(f"{setting} names unknown {kind}: {', '.join(unknown)}")
    return {name: float(weight) for name, weight in configured.items() if float(weight) > 0}


def assign(visitor: str, salt: str = "streamui-ab-1", weights: dict[str, float] | None = None) -> str | None:
    """The visitor's arm, or None when no experiment is configured."""
    weights = arms() if weights is None else weights
    if not weights:
        return None
    point = int.from_bytes(hashlib.sha256(f"{salt}:{visitor}".encode()).digest()[:8], "big") / 2**64
    total = sum(weights.values())
    running = 0.0
    for name, weight in weights.items():
        running += weight / total
        if point < running:
            return name
    return next(reversed(weights))


def choose_strategy(visitor: str, requested: str = "") -> Assignment:
    """What a stream uses: a forced strategy, else the visitor's arm, else the configured default."""
    if requested and requested != AUTO:
        if requested not in strategy_names():
            raise ValueError(f"unknown smoothing strategy {requested!r}")
        return Assignment(requested, f"forced:{requested}")
    arm = assign(visitor)
    if arm is not None:
        return Assignment(arm, arm)
    return Assignment(get_settings().smoothing, "")


def choose_policy(visitor: str, requested: str = "") -> Assignment:
    """The correction policy of a stream: forced, else the visitor's POLICY_ARMS arm, else COMMIT_POLICY."""
    from .pipeline.corrections import policy_names

    if requested and requested != AUTO:
        if requested not in policy_names():
            raise ValueError(f"unknown correction policy {requested!r}")
        return Assignment(requested, f"forced:{requested}")
    # A salt of its own, so the policy arm is independent of the smoothing arm.
    arm = assign(visitor, salt="streamui-policy-ab-1", weights=arms("POLICY_ARMS", policy_names()))
    if arm is not None:
        return Assignment(arm, arm)
    return Assignment(get_settings().commit_policy, "")


__all__ = ["AUTO", "Assignment", "arms", "assign", "choose_policy", "choose_strategy"]
