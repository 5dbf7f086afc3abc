"""Serve the simulated LLM as an OpenAI-compatible HTTP server."""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from streamui.testing.fake_server import FakeLLMServer
from streamui.testing.profiles import PROFILES


class Command(BaseCommand):
    help = "Serve the simulated LLM over HTTP (POST /v1/chat/completions; GET /_fake/requests for records)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--profile", default="bursty", choices=sorted(PROFILES))
        parser.add_argument("--speed", type=float, default=1.0, help="time divisor: 2 plays twice as fast")
        parser.add_argument("--trace", help="replay this trace file for every request instead of a profile")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            server = FakeLLMServer(profile=options["profile"], speed=options["speed"], host=options["host"],
                                   port=options["port"], trace=options["trace"])
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc

        async def main() -> None:
            await server.start()
            self.stdout.write(f"fake LLM on {server.base_url} (profile {server.profile}, speed {server.speed})",)
            self.stdout.flush()
            await asyncio.Event().wait()

        try:
            asyncio.run(main())
        except KeyboardInterrupt:
            pass
        except OSError as exc:
            raise CommandError(str(exc)) from exc
