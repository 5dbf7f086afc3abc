"""The built-in smoothing strategies besides passthrough, registered by name.

Importing streamui.pipeline.smoothing imports this package, so `make_strategy`
knows every built-in name without the caller importing anything else.
"""

from __future__ import annotations

from ..smoothing import register_strategy
from .adaptive import Adaptive, AdaptiveConfig
from .fixed import FixedDelay
from .throttle import Throttle

register_strategy(FixedDelay.name, FixedDelay)
register_strategy(Throttle.name, Throttle)
register_strategy(Adaptive.name, Adaptive)

__all__ = ["Adaptive", "AdaptiveConfig", "FixedDelay", "Throttle"]
