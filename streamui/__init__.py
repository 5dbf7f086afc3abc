"""streamui: server-rendered streaming UX for LLM chat in Django."""

__version__ = "0.2.0"
