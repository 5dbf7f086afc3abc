"""Fixtures of the consumer tests."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore


@pytest.fixture
async def session_key() -> str:
    """A saved session, as a visitor gets from the page before the socket opens."""
    session = SessionStore()
    await session.asave()
    assert session.session_key
    return session.session_key
