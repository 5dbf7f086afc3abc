"""Takes docs/playground.png: the playground mid-answer, in headless Chromium.

Usage: .venv/bin/python scripts/screenshot_playground.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for_port  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo.settings", "STREAMUI_DB": f"{tmp}/db.sqlite3"}
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "daphne", "-p", str(port), "demo.asgi:application"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1100, "height": 760})
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector("[data-streamui=widget][data-connected]")
                page.select_option("[data-streamui=upstream]", "simulated:steady")
                page.fill("[data-streamui=prompt]", "Can a minor sue or be sued?")
                page.press("[data-streamui=prompt]", "Enter")
                page.wait_for_selector("[data-figure=ttft]")
                page.wait_for_timeout(4000)
                page.screenshot(path=str(ROOT / "docs" / "playground.png"), full_page=True)
                browser.close()
        finally:
            server.terminate()


if __name__ == "__main__":
    main()
