"""Real parts for browser tests: Daphne serving the demo site, the fake LLM, headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from streamui.upstream.fake_server import FakeLLMServer, FakeLLMServerThread

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port} after {timeout}s")


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServerThread(profile="steady", speed=1.0) as server:
        yield server


class LiveSite:
    def __init__(self, url: str, db: Path, fake: FakeLLMServer) -> None:
        self.url = url
        self.db = db
        self.fake = fake

    def query(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        import sqlite3

        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql, args).fetchall()


@pytest.fixture(scope="session")
def live_site(tmp_path_factory: pytest.TempPathFactory, fake_llm_server: FakeLLMServer) -> Iterator[LiveSite]:
    db = tmp_path_factory.mktemp("site") / "db.sqlite3"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo.settings", "STREAMUI_DB": str(db),
           "STREAMUI_UPSTREAM_URL": fake_llm_server.base_url, "STREAMUI_UPSTREAM_MODEL": "steady",
           "STREAMUI_SIMULATED_SPEED": "3.0", "PYTHONUNBUFFERED": "1",
           "STREAMUI_UPSTREAM_CALLABLE": "tests.browser.flaky_upstream.fails_first_time"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    log = (tmp_path_factory.getbasetemp() / "daphne.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "demo.asgi:application"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        yield LiveSite(f"http://127.0.0.1:{port}", db, fake_llm_server)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


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
