"""`manage.py streamui_load`: N concurrent chat streams against one Daphne, with a single-stream baseline.

The logic is in tools.loadgen; deploy/LOAD.md has measured figures and the commands.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tools.loadgen.report import render_table
from tools.loadgen.runner import MAX_CLIENTS, MAX_DURATION, LoadOptions, run_load


class Command(BaseCommand):
    help = "Open N concurrent websocket chat streams against one Daphne process on loopback and report the figures."

    def add_arguments(self, parser: ArgumentParser) -> None:
        defaults = LoadOptions()
        parser.add_argument("--clients", type=int, default=defaults.clients,
                            help=f"concurrent clients (max {MAX_CLIENTS})")
        parser.add_argument("--duration", type=float, default=defaults.duration,
                            help=f"hard cap on the load run, seconds (max {MAX_DURATION:g})")
        parser.add_argument("--ramp", type=float, default=defaults.ramp,
                            help="send the prompts evenly over this many seconds")
        parser.add_argument("--baseline-streams", type=int, default=defaults.baseline_streams,
                            help="single streams, one after another, measured first as the baseline")
        parser.add_argument("--profile", default=defaults.profile, help="simulated upstream profile")
        parser.add_argument("--strategy", default=defaults.strategy, help="smoothing strategy")
        parser.add_argument("--speed", type=float, default=defaults.speed, help="simulated LLM speed factor")
        parser.add_argument("--max-tokens", type=int, default=defaults.max_tokens, help="answer length cap")
        parser.add_argument("--url", default=None, help="an already running server on loopback (default: start one)")
        parser.add_argument("--pid", type=int, default=None, help="that server's process id, for CPU and memory")
        parser.add_argument("--daphne-arg", action="append", default=[], dest="daphne_args",
                            help="extra argument for the Daphne started here (repeatable)")
        parser.add_argument("--no-floor", action="store_true",
                            help="skip the floor run (a minimal Channels consumer sending streamui's frames)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        load = LoadOptions(
            clients=options["clients"], duration=options["duration"], ramp=options["ramp"],
            baseline_streams=options["baseline_streams"], profile=options["profile"], strategy=options["strategy"],
            speed=options["speed"], max_tokens=options["max_tokens"], url=options["url"], pid=options["pid"],
            daphne_args=tuple(options["daphne_args"]), floor=not options["no_floor"],
        )
        try:
            load.validate()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        try:
            report = run_load(load, log=lambda message: self.stderr.write(message))
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.stdout.write(render_table(report))
