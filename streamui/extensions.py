"""The extension points a site names by dotted path in `STREAMUI`, resolved in one place.

- `STRATEGIES` / `POLICIES`: extra smoothing strategies and correction policies, registered
  into the core registries when the app is ready (and again when the setting changes);
- `UPSTREAMS`: named upstream classes (the `streamui.Upstream` protocol), built with OPTIONS;
- `JSON_SCHEMA` / `JSON_WIDGETS`: the schema and the widget registry of JSON-mode answers.

`import_problems()` tries every dotted path, so a typo is a system-check error at startup
rather than a traceback on the first chat.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils.module_loading import import_string

from .conf import Problem, Settings, get_settings, problems, user_settings
from .pipeline.corrections import POLICIES, CorrectionPolicy
from .pipeline.smoothing import STRATEGIES, SmoothingStrategy
from .widgets.registry import WidgetRegistry

_registered: dict[str, set[str]] = {"strategies": set(), "policies": set()}


def _builtin_schema() -> Mapping[str, Any]:
    from .answer_schema import ANSWER_SCHEMA

    return ANSWER_SCHEMA


def _load(path: str) -> Any:
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImportError(f"cannot import {path!r}: {exc}") from exc


def _factory(path: str, base: type, what: str) -> Callable[[], Any]:
    target = _load(path)
    if not callable(target):
        raise TypeError(f"{path!r} is not callable: it must build a {what}")
    made = target()
    if not isinstance(made, base):
        raise TypeError(f"{path!r} built a {type(made).__name__}, not a {base.__name__}")
    return target  # type: ignore[no-any-return]


def register_from_settings() -> None:
    """(Re)register the site's strategies and policies over the built-ins; silent on errors,
    which the system checks report."""
    if problems(user_settings()):
        return
    current = get_settings()
    for kind, registry, names, base, what in (
        ("strategies", STRATEGIES, current.strategies, SmoothingStrategy, "smoothing strategy"),
        ("policies", POLICIES, current.policies, CorrectionPolicy, "correction policy"),
    ):
        for old in _registered[kind] - set(names):
            registry.unregister(old)
        _registered[kind] = set()
        for name, path in names.items():
            try:
                registry.register(name, _factory(path, base, what))
            except (ImportError, TypeError, ValueError):
                continue
            _registered[kind].add(name)


# Resolved once per Settings object (every stream start and reloaded JSON turn asks): a new
# object after `setting_changed` resolves again.
_resolved: dict[str, tuple[Settings, Any]] = {}


def _once(key: str, current: Settings, resolve: Callable[[Settings], Any]) -> Any:
    cached = _resolved.get(key)
    if cached is None or cached[0] is not current:
        cached = _resolved[key] = (current, resolve(current))
    return cached[1]


def json_schema(current: Settings | None = None) -> Mapping[str, Any]:
    """The JSON Schema of JSON-mode answers (JSON_SCHEMA, else the built-in answer schema)."""
    schema: Mapping[str, Any] = _once("schema", current or get_settings(), _resolve_schema)
    return schema


def json_widgets(current: Settings | None = None) -> WidgetRegistry | None:
    """The widget registry of JSON-mode answers (JSON_WIDGETS, else None: the built-in widgets)."""
    widgets: WidgetRegistry | None = _once("widgets", current or get_settings(), _resolve_widgets)
    return widgets


def _resolve_schema(current: Settings) -> Mapping[str, Any]:
    value = current.json_schema
    if value is None:
        return _builtin_schema()
    loaded = _load(value) if isinstance(value, str) else value
    if callable(loaded):
        loaded = loaded()
    if not isinstance(loaded, Mapping):
        raise TypeError(f"JSON_SCHEMA must be (or name) a dict, not {type(loaded).__name__}")
    return loaded


def _resolve_widgets(current: Settings) -> WidgetRegistry | None:
    path = current.json_widgets
    if path is None:
        return None
    loaded = _load(path)
    if not isinstance(loaded, WidgetRegistry) and callable(loaded):
        loaded = loaded()
    if not isinstance(loaded, WidgetRegistry):
        raise TypeError(f"JSON_WIDGETS must name a WidgetRegistry or a callable returning one, not "
                        f"{type(loaded).__name__}")
    return loaded


def upstream_class(path: str) -> type:
    target = _load(path)
    if not isinstance(target, type) or not callable(getattr(target, "stream", None)):
        raise TypeError(f"{path!r} is not an upstream class (it needs a stream(request) method)")
    return target


def import_problems(current: Settings) -> list[Problem]:
    found: list[Problem] = []

    def attempt(key: str, action: Callable[[], object]) -> None:
        try:
            action()
        except (ImportError, TypeError, ValueError, AttributeError) as exc:
            found.append(Problem("E007", key, f"STREAMUI[{key!r}]: {exc}"))

    if current.upstream_callable:
        attempt("UPSTREAM_CALLABLE", lambda: _load(current.upstream_callable or ""))
    for entry in current.upstreams.values():
        attempt("UPSTREAMS", lambda backend=entry.backend: upstream_class(backend))  # type: ignore[misc]
    for path in current.strategies.values():
        attempt("STRATEGIES", lambda p=path: _factory(p, SmoothingStrategy, "smoothing strategy"))  # type: ignore[misc]
    for path in current.policies.values():
        attempt("POLICIES", lambda p=path: _factory(p, CorrectionPolicy, "correction policy"))  # type: ignore[misc]
    attempt("JSON_SCHEMA", lambda: json_schema(current))
    attempt("JSON_WIDGETS", lambda: json_widgets(current))
    return found


__all__ = ["import_problems", "json_schema", "json_widgets", "register_from_settings", "upstream_class"]
