"""How a setting is declared (`Spec`), what can be wrong with it (`Problem`), and the value checks of
streamui's settings table (`streamui.conf.SETTINGS`): each takes a value already of the right type and
says what is wrong with it, or returns None. No Django here; conf.py reads the site's settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Spec:
    """How one key is documented and checked: `kind` for isinstance, `check` for its value."""

    doc: str
    kind: type | tuple[type, ...]
    check: Callable[[Any], str | None] | None = None
    nullable: bool = False


@dataclass(frozen=True, slots=True)
class Problem:
    id: str  # "E001"...: the system check id, without the "streamui." prefix
    key: str
    message: str
    warning: bool = False


def positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


def not_negative(value: Any) -> str | None:
    return None if value >= 0 else "must not be negative"


def url(value: Any) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host, such as http://127.0.0.1:8080/v1"
    return None


def redis_url(value: Any) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss", "unix"):
        return "must be a redis://, rediss:// or unix:// URL, such as redis://127.0.0.1:6379/0"
    return None


def weights(value: Any) -> str | None:
    for name, weight in value.items():
        if not isinstance(name, str) or isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            return f"maps names to non-negative weights; {name!r}: {weight!r} is not"
    return None


def dotted_paths(value: Any) -> str | None:
    for name, path in value.items():
        if not isinstance(name, str) or not name or not isinstance(path, str) or "." not in path:
            return f"maps names to dotted paths such as 'mysite.smoothing.MyStrategy'; {name!r}: {path!r} is not"
    return None


def strings(value: Any) -> str | None:
    return None if all(isinstance(v, str) and v for v in value) else "must be a list of non-empty strings"


def choice(*choices: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def upstreams(value: Any) -> str | None:
    for name, entry in value.items():
        if not isinstance(name, str) or not name or ":" in name:
            return f"names must be non-empty strings without ':'; {name!r} is not"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("BACKEND"), str):
            return f"{name!r} needs a dict with BACKEND (a dotted path) and optional OPTIONS and LABEL"
        extra = set(entry) - {"BACKEND", "OPTIONS", "LABEL"}
        if extra:
            return f"{name!r} has unknown keys {', '.join(sorted(extra))} (known: BACKEND, OPTIONS, LABEL)"
        if not isinstance(entry.get("OPTIONS", {}), Mapping):
            return f"{name!r}: OPTIONS must be a dict of keyword arguments"
    return None


__all__ = [
    "Problem", "Spec", "choice", "dotted_paths", "not_negative", "positive", "redis_url", "strings", "upstreams",
    "url", "weights",
]
