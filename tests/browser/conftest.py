"""Real parts for browser tests: Daphne serving the demo site, the fake LLM, headless Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamui.testing.fake_server import FakeLLMServer, FakeLLMServerThread
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tools.loadgen.server import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "LiveSite", "free_port", "wait_for_port"]


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
           "STREAMUI_UPSTREAM_CALLABLE": "tests.browser.flaky_upstream.fails_first_time_or_markdown"}
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
