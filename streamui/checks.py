"""Django system checks for streamui's settings: a misconfigured site hears of it at startup
(`runserver`, `migrate`, `manage.py check`), with the setting named and what is wrong.

| id | what |
|---|---|
| streamui.E001 | an unknown key in STREAMUI (with a "did you mean"), or STREAMUI is not a dict |
| streamui.E002 | a value of the wrong type |
| streamui.E003 | a value out of range or malformed (negative numbers, bad URLs, bad weights) |
| streamui.E004 | an unknown smoothing strategy in SMOOTHING or AB_ARMS |
| streamui.E005 | an unknown correction policy in COMMIT_POLICY or POLICY_ARMS |
| streamui.E006 | DEFAULT_UPSTREAM names an upstream the site does not offer |
| streamui.E007 | a dotted path that does not import or is not the right kind of object |
| streamui.E008 | REDIS_URL without a channels_redis channel layer: Stop from another worker never arrives |
| streamui.E009 | "channels" is not in INSTALLED_APPS |
| streamui.W001 | DEBUG is False and the only upstream is the simulated model: users get canned answers |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from .conf import Problem, build, problems, user_settings


def _message(problem: Problem) -> CheckMessage:
    kind = Warning if problem.warning else Error
    return kind(problem.message, hint=_HINTS.get(problem.id), obj="settings.STREAMUI", id=f"streamui.{problem.id}")


_HINTS = {
    "E001": "Every key is listed, with its default, in the README's settings table.",
    "E008": 'Set CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", '
            '"CONFIG": {"hosts": [REDIS_URL]}}} (pip install "streamui[redis]").',
    "W001": "Set STREAMUI['UPSTREAM_URL'] (an OpenAI-compatible server), UPSTREAMS or UPSTREAM_CALLABLE; "
            "silence with SILENCED_SYSTEM_CHECKS = ['streamui.W001'] for a public demo.",
}


def _names_problems(key: str, names: Any, known: set[str], check_id: str, what: str) -> list[Problem]:
    found = []
    for name in [names] if isinstance(names, str) else list(names):
        if name not in known:
            found.append(Problem(check_id, key, f"STREAMUI[{key!r}] names an unknown {what} {name!r} "
                                                f"(known: {', '.join(sorted(known))})"))
    return found


def settings_problems() -> list[Problem]:
    user = user_settings()
    found = problems(user)
    if found:
        return found  # the rest needs a dict that builds
    from .extensions import import_problems, register_from_settings
    from .pipeline.corrections import policy_names
    from .pipeline.smoothing import strategy_names
    from .upstream.registry import available_upstreams

    current = build(user)
    found = import_problems(current)
    register_from_settings()
    found += _names_problems("SMOOTHING", current.smoothing, set(strategy_names()), "E004", "smoothing strategy")
    found += _names_problems("AB_ARMS", current.ab_arms, set(strategy_names()), "E004", "smoothing strategy")
    found += _names_problems("COMMIT_POLICY", current.commit_policy, set(policy_names()), "E005", "correction policy")
    found += _names_problems("POLICY_ARMS", current.policy_arms, set(policy_names()), "E005", "correction policy")
    if current.default_upstream and not any(p.key == "UPSTREAMS" for p in found):
        offered = {choice.name for choice in available_upstreams(current)}
        found += _names_problems("DEFAULT_UPSTREAM", current.default_upstream, offered, "E006", "upstream")
    if current.redis_url:
        backend = str(getattr(django_settings, "CHANNEL_LAYERS", {}).get("default", {}).get("BACKEND", ""))
        if not backend.startswith("channels_redis."):
            found.append(Problem("E008", "REDIS_URL", "STREAMUI['REDIS_URL'] is set but the default channel layer is "
                                                      f"{backend or 'not configured'}: Stop and resume from another "
                                                      "worker need channels_redis"))
    if not django_settings.DEBUG and not (current.upstream_url or current.upstreams or current.upstream_callable):
        found.append(Problem("W001", "UPSTREAM_URL", "DEBUG is False and no upstream is configured: every answer "
                             "comes from streamui's simulated model (canned text)", warning=True))
    return found


@register(Tags.compatibility)
def check_settings(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> Sequence[CheckMessage]:
    messages = [_message(p) for p in settings_problems()]
    if "channels" not in django_settings.INSTALLED_APPS:
        messages.append(Error('"channels" is not in INSTALLED_APPS: the chat socket cannot be served',
                              hint='INSTALLED_APPS += ["daphne", "channels", "streamui"]', id="streamui.E009"))
    return messages


__all__ = ["check_settings", "settings_problems"]
