"""The playground against a real local model (make run-local's llama.cpp server) in headless Chromium.

Skipped unless `make run-local` (or `scripts/run-local.sh install`) has built .venv-local:
the first build compiles llama.cpp, which CI does not do.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, free_port, wait_for_port

pytestmark = [
    pytest.mark.browser,
    pytest.mark.local_llm,
    pytest.mark.skipif(not (ROOT / ".venv-local" / ".installed").exists(),
                       reason="no local model server: run `make run-local` (or scripts/run-local.sh install) once"),
]

OUTPUT = "[data-streamui=output]"
DISCONNECT_LINE = "Disconnected from client"  # llama-cpp-python's server, on a client that went away


class LocalModel:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(["scripts/run-local.sh", "server"], cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines: list[str] = []
        self.url: str | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("http://") and self.url is None:
                self.url = line.strip()

    def wait_ready(self, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while self.url is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the local model server did not start:\n" + "".join(self.lines[-30:]))
            time.sleep(0.2)
        return self.url

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the script and the server it started
            self.proc.wait(30)


@pytest.fixture(scope="module")
def local_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, LocalModel]]:
    model = LocalModel()
    try:
        url = model.wait_ready()
        db = tmp_path_factory.mktemp("local") / "db.sqlite3"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo.settings", "STREAMUI_DB": str(db),
               "STREAMUI_UPSTREAM_URL": url, "STREAMUI_UPSTREAM_MODEL": "gemma3-270m", "PYTHONUNBUFFERED": "1"}
        env.pop("STREAMUI_UPSTREAM_CALLABLE", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        port = free_port()
        log_path: Path = tmp_path_factory.getbasetemp() / "daphne-local.log"
        with log_path.open("w") as log:
            site = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                     "demo.asgi:application"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_for_port(port)
                yield f"http://127.0.0.1:{port}", model
            finally:
                site.terminate()
                site.wait(10)
    finally:
        model.stop()


def test_text_streams_and_stop_reaches_the_model(page: Any, local_site: tuple[str, LocalModel]) -> None:
    url, model = local_site
    page.goto(url + "/")
    page.wait_for_selector("[data-streamui=widget][data-connected]")
    page.select_option("[data-streamui=upstream]", "openai")
    prompt = page.locator("[data-streamui=prompt]")
    prompt.fill("Write a long story about a lighthouse keeper and a cat.")
    prompt.press("Enter")
    page.wait_for_function(f"() => [...document.querySelectorAll('{OUTPUT}')].pop()?.textContent.length > 20",
                           timeout=120_000)
    first = len(page.locator(OUTPUT).last.text_content())
    page.wait_for_function(f"() => [...document.querySelectorAll('{OUTPUT}')].pop().textContent.length > {first}",
                           timeout=60_000)  # the text grows: it is streaming
    disconnects_before = sum(DISCONNECT_LINE in line for line in model.lines)
    page.locator("[data-streamui=stop]").click()
    page.wait_for_selector("[data-streamui=status][data-state=stopped]")
    deadline = time.monotonic() + 30
    while sum(DISCONNECT_LINE in line for line in model.lines) == disconnects_before:
        tail = "".join(model.lines[-20:])
        assert time.monotonic() < deadline, f"the model server never logged the disconnect:\n{tail}"
        time.sleep(0.1)
