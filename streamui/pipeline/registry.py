"""One small named-factory registry, used for smoothing strategies and correction policies.

Built-ins register at import; a site adds its own by dotted path in settings
(`STREAMUI["STRATEGIES"]`, `STREAMUI["POLICIES"]`), which streamui's AppConfig registers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Factories by name; `make(name)` builds a fresh instance, ValueError for an unknown name."""

    def __init__(self, kind: str, builtins: dict[str, Callable[[], T]] | None = None) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[[], T]] = dict(builtins or {})

    def register(self, name: str, factory: Callable[[], T]) -> None:
        if not name or not isinstance(name, str):
            raise ValueError(f"a {self.kind} needs a non-empty name, not {name!r}")
        self._factories[name] = factory

    def unregister(self, name: str) -> None:
        self._factories.pop(name, None)

    def make(self, name: str) -> T:
        try:
            factory = self._factories[name]
        except KeyError:
            raise ValueError(f"unknown {self.kind} {name!r} (known: {', '.join(sorted(self))})") from None
        return factory()

    def names(self) -> list[str]:
        return list(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)


__all__ = ["Registry"]
