"""The STREAMUI settings: one frozen Settings object, and system checks that name what is wrong."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from streamui.conf import SETTINGS, Settings, default_of, get_settings

ROOT = Path(__file__).resolve().parents[2]
EXT = "tests.support.site_extensions"


def streamui_messages(**streamui: Any) -> dict[str, list[str]]:
    """The streamui check messages for a STREAMUI dict, by id."""
    with override_settings(STREAMUI=streamui):
        found: dict[str, list[str]] = {}
        for message in run_checks():
            if message.id and message.id.startswith("streamui."):
                found.setdefault(message.id, []).append(message.msg)
        return found


def test_the_demo_settings_pass_every_check() -> None:
    with override_settings(DEBUG=True):  # pytest-django runs with DEBUG=False, which warns (W001)
        assert [m for m in run_checks() if (m.id or "").startswith("streamui.")] == []


def test_settings_are_frozen_keyword_only_and_typed() -> None:
    with override_settings(STREAMUI={"COMMIT_HOLD_MS": 200, "REPLAY_TRACES": ["a.jsonl"]}):
        current = get_settings()
        assert current.commit_hold_ms == 200.0 and isinstance(current.commit_hold_ms, float)
        assert current.replay_traces == ("a.jsonl",)
        assert current is get_settings()  # built once
        with pytest.raises(dataclasses.FrozenInstanceError):
            current.max_tokens = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        Settings(1024)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("streamui", "check_id", "fragment"),
    [
        ({"COMIT_POLICY": "replace"}, "streamui.E001", "did you mean 'COMMIT_POLICY'?"),
        ({"MAX_TOKENS": "1024"}, "streamui.E002", "STREAMUI['MAX_TOKENS'] must be int, not str"),
        ({"DASHBOARD_PUBLIC": 1}, "streamui.E002", "must be bool"),
        ({"MAX_TOKENS": True}, "streamui.E002", "must be int"),
        ({"DISCONNECT_GRACE": -1}, "streamui.E003", "must not be negative"),
        ({"UPSTREAM_URL": "localhost:8080/v1"}, "streamui.E003", "must be an http:// or https:// URL"),
        ({"TRANSPORT": "carrier-pigeon"}, "streamui.E003", "must be one of auto, websocket, sse"),
        ({"AB_ARMS": {"adaptive": -1}}, "streamui.E003", "non-negative weights"),
        ({"UPSTREAMS": {"x": {"CLASS": "a.B"}}}, "streamui.E003", "needs a dict with BACKEND"),
        ({"SMOOTHING": "adaptve"}, "streamui.E004", "unknown smoothing strategy 'adaptve'"),
        ({"AB_ARMS": {"adaptive": 1, "nope": 1}}, "streamui.E004", "'nope'"),
        ({"COMMIT_POLICY": "rewrite"}, "streamui.E005", "unknown correction policy 'rewrite'"),
        ({"DEFAULT_UPSTREAM": "openai"}, "streamui.E006", "unknown upstream 'openai'"),
        ({"UPSTREAM_CALLABLE": "mysite.llm.missing"}, "streamui.E007", "cannot import 'mysite.llm.missing'"),
        ({"STRATEGIES": {"x": f"{EXT}.NOT_A_STRATEGY"}}, "streamui.E007", "is not callable"),
        ({"POLICIES": {"x": f"{EXT}.Shouting"}}, "streamui.E007", "built a Shouting, not a CorrectionPolicy"),
        ({"UPSTREAMS": {"x": {"BACKEND": f"{EXT}.RECIPE_SCHEMA"}}}, "streamui.E007", "not an upstream class"),
        ({"JSON_SCHEMA": f"{EXT}.recipe_widgets"}, "streamui.E007", "JSON_SCHEMA must be (or name) a dict"),
        ({"JSON_WIDGETS": f"{EXT}.RECIPE_SCHEMA"}, "streamui.E007", "JSON_WIDGETS must name a WidgetRegistry"),
        ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "streamui.E008", "need channels_redis"),
        ({"REDIS_URL": "127.0.0.1:6379"}, "streamui.E003", "redis://"),
    ],
)
def test_each_mistake_is_a_check_error_naming_the_setting(streamui: dict[str, Any], check_id: str,
                                                          fragment: str) -> None:
    found = streamui_messages(**streamui)
    assert check_id in found, found
    assert any(fragment in message for message in found[check_id]), found[check_id]


def test_a_bad_dict_is_refused_with_the_same_message_rather_than_used() -> None:
    with override_settings(STREAMUI={"MAX_TOKENS": "many"}), pytest.raises(ImproperlyConfigured, match="MAX_TOKENS"):
        get_settings()


def test_production_with_only_the_simulated_model_is_warned() -> None:
    with override_settings(DEBUG=False):
        assert "streamui.W001" in streamui_messages()
        assert "streamui.W001" not in streamui_messages(UPSTREAM_URL="https://api.example.com/v1")
        assert "streamui.W001" not in streamui_messages(UPSTREAMS={"echo": {"BACKEND": f"{EXT}.EchoUpstream"}})


def test_the_check_runs_before_the_first_request() -> None:
    """`manage.py check` (which runserver and migrate run too) fails on a bad setting."""
    settings = ("from demo.settings import *\n"
                "STREAMUI = {**STREAMUI, 'SMOOTHING': 'adaptve', 'MAX_TOKEN': 5}\n")
    module = ROOT / "tests" / "settings" / "broken_site_settings.py"
    module.write_text(settings)
    try:
        run = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                             env={"DJANGO_SETTINGS_MODULE": "tests.settings.broken_site_settings",
                                  "PATH": "/usr/bin:/bin"}, timeout=60)
    finally:
        module.unlink()
    assert run.returncode != 0
    assert "streamui.E001" in run.stderr and "did you mean 'MAX_TOKENS'?" in run.stderr
    assert "Traceback" not in run.stderr


def test_every_setting_is_documented_once_in_the_readme_table_with_its_default() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `([A-Z_]+)` \| (.*?) \| (.*?) \|$", readme, flags=re.M)
    documented = [name for name, _, _ in rows if name in SETTINGS]
    assert sorted(documented) == sorted(SETTINGS), set(SETTINGS) ^ set(documented)
    assert len(documented) == len(set(documented))
    for name, default, _ in rows:
        if name in SETTINGS:
            assert default == f"`{default_of(name)!r}`", name
