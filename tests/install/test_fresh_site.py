"""The drop-in, tested from outside: the built wheel in a fresh virtualenv, a brand-new
`django-admin startproject` site edited exactly as the README says, driven in Chromium.

The README's install and drop-in snippets are the files under tests/install/site/; a test
below checks the README quotes each of them whole, so the two cannot drift.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streamui.testing import FakeLLMServer, FakeLLMServerThread
from tools.loadgen.server import free_port, stop_process, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(__file__).resolve().parent / "site"
SNIPPETS = {
    "settings_streamui.py": "mysite/settings.py (append)",
    "urls.py": "mysite/urls.py",
    "asgi.py": "mysite/asgi.py",
    "templates/chat.html": "templates/chat.html",
}


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a new user's shell: nothing of this repository's test settings."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "STREAMUI_", "PYTHON", "VIRTUAL_ENV"))}
    return {**keep, **extra}


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env or clean_env(), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"
    # Build from a clean copy of the tracked files, as from a fresh clone.
    files = run("git", "ls-files", "-z", cwd=ROOT).split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, source, cwd=out)
    (found,) = out.glob("streamui-*.whl")
    return found


def test_the_wheel_holds_the_streamui_package_alone(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert "streamui" in tops and len(tops) == 2 and all(t == "streamui" or t.endswith(".dist-info") for t in tops)
    for data in ("streamui/py.typed", "streamui/jinja2/streamui/chat.html", "streamui/static/streamui/streamui.js",
                 "streamui/testing/data/answers.jsonl", "streamui/migrations/0001_initial.py"):
        assert data in names
    assert not [n for n in names if "/bench/" in n or "/loadgen/" in n or n.startswith(("tools/", "demo/", "tests/"))]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: Django<6.0,>=5.2" in metadata
    assert 'Requires-Dist: channels-redis<5,>=4.2; extra == "redis"' in metadata


@pytest.fixture(scope="module")
def fresh_site(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("fresh")
    run(sys.executable, "-m", "venv", base / "venv", cwd=base)
    python = base / "venv" / "bin" / "python"
    # The README's install line; the constraints only pin versions to the ones CI tested.
    run(python, "-m", "pip", "install", "-q", "-c", ROOT / "requirements.txt", wheel, cwd=base)
    (base / "site").mkdir()
    run(base / "venv" / "bin" / "django-admin", "startproject", "mysite", base / "site", cwd=base)
    site = base / "site"
    settings = site / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + "\n" + (SITE / "settings_streamui.py").read_text())
    for name in ("urls.py", "asgi.py"):
        shutil.copy(SITE / name, site / "mysite" / name)
    (site / "templates").mkdir()
    shutil.copy(SITE / "templates" / "chat.html", site / "templates" / "chat.html")
    return site


@pytest.fixture(scope="module")
def fake_llm_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServerThread(profile="steady", speed=1.0) as server:
        yield server


@pytest.fixture(scope="module")
def fresh_site_url(fresh_site: Path, fake_llm_server: FakeLLMServer) -> Iterator[str]:
    python = fresh_site.parent / "venv" / "bin" / "python"
    env = clean_env(LLM_BASE_URL=fake_llm_server.base_url, LLM_MODEL="steady", PYTHONUNBUFFERED="1")
    run(python, "manage.py", "check", cwd=fresh_site, env=env)
    run(python, "manage.py", "migrate", "--noinput", "-v0", cwd=fresh_site, env=env)
    port = free_port()
    log = (fresh_site / "runserver.log").open("w")
    proc = subprocess.Popen([str(python), "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                            cwd=fresh_site, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)
        log.close()


def test_the_installed_app_ships_no_repository_tooling(fresh_site: Path) -> None:
    python = fresh_site.parent / "venv" / "bin" / "python"
    code = ("import importlib.util as u, streamui, streamui.testing; "
            "print(streamui.__version__, [m for m in ('tools', 'demo', 'bench') if u.find_spec(m)])")
    out = run(python, "-c", code, cwd=fresh_site.parent)
    assert out.split(" ", 1)[1].strip() == "[]"


@pytest.mark.browser
def test_a_fresh_startproject_site_streams_and_stops(page: Any, fresh_site_url: str,
                                                     fake_llm_server: FakeLLMServer) -> None:
    page.goto(fresh_site_url + "/")
    page.wait_for_selector("[data-streamui=widget][data-connected]")
    prompt = page.locator("[data-streamui=prompt]")
    prompt.fill("Can a minor sue or be sued?")
    page.locator("[data-streamui=send]").click()
    output = "[data-streamui=output]"
    page.wait_for_function(f"() => document.querySelector('{output}')?.textContent.length > 20")
    first = len(page.locator(output).last.text_content())
    page.wait_for_function(f"n => document.querySelector('{output}').textContent.length > n", arg=first)
    page.locator("[data-streamui=stop]").click()
    page.wait_for_selector("[data-streamui=status][data-state=stopped]")
    with urllib.request.urlopen(f"{fake_llm_server.base_url.removesuffix('/v1')}/_fake/requests") as resp:
        records = json.loads(resp.read())
    assert records and records[-1]["outcome"] == "disconnected", records  # Stop closed the upstream request
    assert records[-1]["tokens_after_disconnect"] <= 1


@pytest.mark.parametrize("snippet", sorted(SNIPPETS))
def test_the_readme_quotes_the_tested_site_whole(snippet: str) -> None:
    readme = (ROOT / "README.md").read_text()
    assert (SITE / snippet).read_text().strip() in readme, f"README.md lacks {snippet} as tested ({SNIPPETS[snippet]})"
