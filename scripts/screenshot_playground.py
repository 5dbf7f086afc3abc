"""Takes the README's screenshots of the playground mid-answer, in headless Chromium:
docs/playground.png (light, 1280x720), docs/playground-dark.png (dark) and docs/playground-phone.png (390x844).

Usage: .venv/bin/python scripts/screenshot_playground.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for_port  # noqa: E402

SHOTS = (  # file, viewport, colour scheme, upstream, compare
    ("playground.png", {"width": 1280, "height": 720}, "light", "simulated:steady", ""),
    ("playground-dark.png", {"width": 1280, "height": 720}, "dark", "simulated:json", ""),
    ("playground-phone.png", {"width": 390, "height": 844}, "light", "simulated:stalls", "passthrough"),
)


def shoot(browser: Any, url: str, name: str, viewport: dict[str, int], scheme: str, upstream: str,
          compare: str) -> None:
    context = browser.new_context(viewport=viewport, color_scheme=scheme, device_scale_factor=1)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("[data-streamui=widget][data-connected]")
    if not page.locator("[data-streamui=upstream]").is_visible():
        page.locator("[data-streamui=settings] > summary").click()
    page.select_option("[data-streamui=upstream]", upstream)
    if compare:
        page.select_option("[data-streamui=strategy]", "adaptive")
        page.select_option("[data-streamui=compare]", compare)
    if viewport["width"] < 500:
        page.locator("[data-streamui=settings] > summary").click()  # folded again, as a phone shows it
    page.fill("[data-streamui=prompt]", "Can a minor sue or be sued?")
    page.press("[data-streamui=prompt]", "Enter")
    page.wait_for_selector("[data-figure=ttft]")
    page.wait_for_timeout(3500)
    # Between two painted frames, so the capture never lands in the middle of the page following the answer.
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.screenshot(path=str(ROOT / "docs" / name), caret="hide")
    page.keyboard.press("Escape")
    context.close()


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
                for shot in SHOTS:
                    shoot(browser, f"http://127.0.0.1:{port}/", *shot)
                browser.close()
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
