"""Shared fixtures: the fake LLM server on an ephemeral port, in this loop or in a thread."""

from __future__ import annotations

from typing import AsyncIterator, Iterator

import pytest

from streamui.upstream.fake_server import FakeLLMServer, FakeLLMServerThread


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeLLMServer]:
    """A real HTTP server on 127.0.0.1:<ephemeral>, in the test's own event loop."""
    server = FakeLLMServer(profile="steady", speed=4.0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def fake_llm_thread() -> Iterator[FakeLLMServer]:
    """The same server on its own loop in a background thread, for sync and browser tests."""
    with FakeLLMServerThread(profile="steady", speed=1.0) as server:
        yield server


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Playwright's sync API keeps an event loop running on the main thread while the
    # browser is open, and pytest-asyncio cannot start its own loop there: so every
    # browser test runs after all the asyncio tests.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
