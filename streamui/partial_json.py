"""The progressive partial-JSON parser, importable as `streamui.partial_json` (see streamui.pipeline.partial_json)."""
from .pipeline.partial_json import *  # noqa: F401,F403
from .pipeline.partial_json import __all__ as __all__  # noqa: F401
