"""Fixtures of the security tests: a fast demo site under Daphne for the browser checks.

Headless Chromium comes from tests/conftest.py (`browser`, `page`: the page fixture
also fails a test on any JavaScript error). The site is our own, not the
shared `live_site`: the simulated LLM runs 20x faster so an answer reaches "done" in
about a second, which keeps these tests short.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import LiveSite, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def fast_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """Daphne serving demo.asgi with the simulated LLM only (no upstream URL, no key)."""
    db = tmp_path_factory.mktemp("security-site") / "db.sqlite3"
    env = {key: value for key, value in os.environ.items() if not key.startswith("STREAMUI_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "demo.settings",
            "STREAMUI_DB": str(db),
            "STREAMUI_SIMULATED_SPEED": "20",
            "PYTHONUNBUFFERED": "1",
        }
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    port = free_port()
    log_path = tmp_path_factory.getbasetemp() / "security-daphne.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "demo.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port)
            yield LiveSite(f"http://127.0.0.1:{port}", db, None)  # type: ignore[arg-type]
        finally:
            proc.terminate()
            proc.wait(10)
