"""A/B arms for smoothing strategies: sticky per visitor, weighted, forceable from the playground.

STREAMUI["AB_ARMS"] maps strategy names to weights, e.g. {"passthrough": 1, "adaptive": 1}.
A visitor's arm is a pure function of who they are and the arms, so it needs no storage
and stays the same across tabs, reloads and workers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .conf import get_config
from .pipeline.smoothing import strategy_names

AUTO = "auto"


@dataclass(frozen=True, slots=True)
class Assignment:
    strategy: str
    arm: str  # the arm name when assigned by the experiment, "" when not in one, "forced:<name>" when chosen


def arms() -> dict[str, float]:
    configured = get_config()["AB_ARMS"] or {}
    known = set(strategy_names())
    unknown = [name for name in configured if name not in known]
    if unknown:
        raise ValueError(f"AB_ARMS names unknown strategies: {', '.join(unknown)}")
    return {name: float(weight) for name, weight in configured.items() if float(weight) > 0}


def assign(visitor: str, salt: str = "streamui-ab-1") -> str | None:
    """The visitor's arm, or None when no experiment is configured."""
    weights = arms()
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
    return Assignment(str(get_config()["SMOOTHING"]), "")


__all__ = ["AUTO", "Assignment", "arms", "assign", "choose_strategy"]
