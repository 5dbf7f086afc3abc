"""Shared fixtures: the fake LLM server on an ephemeral port, in this loop or in a thread."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from streamui.testing.fake_server import FakeLLMServer, FakeLLMServerThread

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


# One headless Chromium for the whole run: Playwright's sync API cannot run two at once.
@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-system-packages.sh (make test does)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1100, "height": 800})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


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
