"""The stated public API: `streamui.__all__` and `streamui.testing.__all__` resolve, and
importing the package (or its core stages) needs no Django settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import streamui
import streamui.testing

ROOT = Path(__file__).resolve().parents[2]


def test_every_public_name_resolves_and_nothing_else_is_exported() -> None:
    for name in streamui.__all__:
        assert getattr(streamui, name) is not None, name
    for name in streamui.testing.__all__:
        assert getattr(streamui.testing, name) is not None, name
    assert dir(streamui) == sorted(streamui.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        streamui.StreamHub  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "StreamHub" in str(exc)
    else:
        raise AssertionError("StreamHub is private: not exported by the package")


def test_the_package_and_its_core_stages_import_without_django() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = ("import sys, streamui, streamui.pipeline.commit, streamui.pipeline.smoothing, "
            "streamui.pipeline.markdown, streamui.pipeline.partial_json; "
            "assert streamui.__version__; assert 'django' not in sys.modules, 'django was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env)
