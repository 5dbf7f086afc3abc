"""The settings tests reuse the consumer tests' session fixture."""

from tests.consumer.conftest import session_key

__all__ = ["session_key"]
