"""Every extension point, plugged in through STREAMUI by dotted path, reaches the running chat."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from streamui.extensions import json_schema, json_widgets
from streamui.models import ChatMessage
from streamui.pipeline.corrections import make_policy, policy_names
from streamui.pipeline.smoothing import make_strategy, strategy_names
from streamui.rendering import json_html
from streamui.upstream.registry import available_upstreams, default_upstream_name, get_upstream
from tests.consumer.test_consumer import ENDED, appended_text, connect, frames_until, send
from tests.support.site_extensions import RECIPE_SCHEMA, EchoUpstream, KeepBoth, Shouting

EXT = "tests.support.site_extensions"


def test_strategies_and_policies_from_settings_join_the_registries_and_leave_with_them() -> None:
    with override_settings(STREAMUI={"STRATEGIES": {"shouting": f"{EXT}.Shouting"},
                                     "POLICIES": {"keep-both": f"{EXT}.KeepBoth"},
                                     "SMOOTHING": "shouting", "COMMIT_POLICY": "keep-both",
                                     "AB_ARMS": {"shouting": 1, "adaptive": 1}}):
        assert isinstance(make_strategy("shouting"), Shouting)
        assert isinstance(make_policy("keep-both"), KeepBoth)
    assert "shouting" not in strategy_names() and "keep-both" not in policy_names()


def test_named_upstreams_are_built_with_their_options() -> None:
    upstreams = {"echo": {"BACKEND": f"{EXT}.EchoUpstream", "OPTIONS": {"prefix": "Echo:"}, "LABEL": "Echo bot"}}
    with override_settings(STREAMUI={"UPSTREAMS": upstreams}):
        assert default_upstream_name() == "echo"
        assert ("echo", "Echo bot") in [(c.name, c.label) for c in available_upstreams()]
        upstream = get_upstream("echo")
        assert isinstance(upstream, EchoUpstream) and upstream.prefix == "Echo:"


def test_json_schema_and_widgets_from_settings_drive_the_rendering() -> None:
    with override_settings(STREAMUI={"JSON_SCHEMA": f"{EXT}.RECIPE_SCHEMA", "JSON_WIDGETS": f"{EXT}.recipe_widgets"}):
        assert json_schema() is RECIPE_SCHEMA
        html = json_html("su-w-m1-json", '{"dish": "Dal", "minutes": 25}', json_schema(), json_widgets())
    assert "Ready in" in html and "Dish" in html and "Dal" in html and "Confidence" not in html


@pytest.mark.django_db(transaction=True)
async def test_a_site_upstream_and_strategy_stream_through_the_consumer(session_key: str) -> None:
    settings: dict[str, Any] = {
        "UPSTREAMS": {"echo": {"BACKEND": f"{EXT}.EchoUpstream", "OPTIONS": {"prefix": "Echo:"}}},
        "STRATEGIES": {"shouting": f"{EXT}.Shouting"}, "SMOOTHING": "shouting", "DISCONNECT_GRACE": 0.0,
    }
    with override_settings(STREAMUI=settings):
        comm = await connect(session_key)
        await send(comm, action="send", prompt="hello there", conversation="", strategy="shouting")
        frames = await frames_until(comm, ENDED)
        await comm.disconnect()
    assert "ECHO: HELLO THERE" in appended_text(frames)
    message = await ChatMessage.objects.filter(role="assistant").aget()
    assert message.content.strip() == "ECHO: HELLO THERE"  # what is stored is what the user was shown


def test_an_http_upstream_is_built_once_per_settings_so_its_pool_is_shared() -> None:
    upstreams = {"echo": {"BACKEND": f"{EXT}.EchoUpstream"}}
    with override_settings(STREAMUI={"UPSTREAMS": upstreams, "UPSTREAM_URL": "http://127.0.0.1:9/v1"}):
        assert get_upstream("echo") is get_upstream("echo")
        assert get_upstream("openai") is get_upstream("openai")
        first = get_upstream("openai")
    with override_settings(STREAMUI={"UPSTREAM_URL": "http://127.0.0.1:9/v1"}):
        assert get_upstream("openai") is not first  # new settings, new instance
