"""`manage.py streamui_soak`: N streams at once for a bounded time with faults injected (worker
kills, Redis restarts, hostile frames), then what was started, completed, interrupted, and
characters shown vs stored. The logic is in tools.soak.runner; loopback only."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tools.soak.runner import run_soak

MAX_SECONDS = 600.0


class Command(BaseCommand):
    help = "Soak streamui: concurrent streams with worker kills, Redis restarts and hostile frames, bounded in time."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--seconds", type=float, default=60.0, help=f"how long to run (max {MAX_SECONDS:g})")
        parser.add_argument("--concurrency", type=int, default=6, help="streams at once (max 50)")
        parser.add_argument("--fault-every", type=float, default=12.0,
                            help="seconds between injected faults (0: none, for the memory baseline)")

    def handle(self, *args: Any, **options: Any) -> None:
        seconds, concurrency = float(options["seconds"]), int(options["concurrency"])
        if not 0 < seconds <= MAX_SECONDS or not 0 < concurrency <= 50:
            raise CommandError(f"--seconds must be in (0, {MAX_SECONDS:g}] and --concurrency in 1..50")
        report, table = run_soak(seconds, concurrency, float(options["fault_every"]))
        self.stdout.write(table)
        if report.mismatches:
            raise CommandError(f"{len(report.mismatches)} streams showed something other than what was stored")
