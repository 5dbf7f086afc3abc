"""`manage.py streamui_load`: N concurrent chat streams against one Daphne, with a single-stream baseline.

`--processes K` runs K Daphnes with Redis behind nginx. Lists (`--processes 1,2 --clients
100,200,300`) run the capacity comparison instead: the largest client count each process
count carries within the p99 target, and the ratio.

The logic is in tools.loadgen; deploy/LOAD.md has measured figures and the commands.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tools.loadgen.capacity import render_capacity, run_capacity
from tools.loadgen.report import render_table
from tools.loadgen.runner import MAX_CLIENTS, MAX_DURATION, LoadOptions, run_load


def counts(text: str) -> list[int]:
    """One whole number, or several separated by commas."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ArgumentTypeError(f"expected a number or numbers separated by commas, got {text!r}") from None
    if not values:
        raise ArgumentTypeError("expected at least one number")
    return values


class Command(BaseCommand):
    help = "Open N concurrent websocket chat streams against Daphne on loopback and report the figures."

    def add_arguments(self, parser: ArgumentParser) -> None:
        defaults = LoadOptions()
        parser.add_argument("--clients", type=counts, default=[defaults.clients],
                            help=f"concurrent clients (max {MAX_CLIENTS}); a comma list runs the capacity comparison")
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
        parser.add_argument("--processes", type=counts, default=[defaults.processes],
                            help="Daphne processes; above 1 they run with a redis-server of their own behind nginx; "
                                 "a comma list runs the capacity comparison")
        parser.add_argument("--redis", action="store_true",
                            help="Redis and nginx even with one process (the fair baseline for --processes)")
        parser.add_argument("--retries", type=int, default=0,
                            help="capacity comparison: run a missed count again up to this many times")
        parser.add_argument("--figures", action="store_true",
                            help="clients ask for live figures, as the playground does (the drop-in widget, "
                                 "the default here, shows none, so none are sent)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        clients, processes = options["clients"], options["processes"]
        load = LoadOptions(
            clients=clients[0], duration=options["duration"], ramp=options["ramp"],
            baseline_streams=options["baseline_streams"], profile=options["profile"], strategy=options["strategy"],
            speed=options["speed"], max_tokens=options["max_tokens"], url=options["url"], pid=options["pid"],
            daphne_args=tuple(options["daphne_args"]), floor=not options["no_floor"],
            processes=processes[0], redis=options["redis"], figures=options["figures"],
        )
        log = lambda message: self.stderr.write(message)  # noqa: E731
        try:
            if len(clients) > 1 or len(processes) > 1:
                for n in clients:
                    for k in processes:
                        LoadOptions(clients=n, processes=k, duration=load.duration, ramp=load.ramp).validate()
                if load.url is not None:
                    raise ValueError("the capacity comparison starts its own servers: drop --url")
                capacity = run_capacity(load, processes, clients, log=log, retries=max(0, options["retries"]))
                self.stdout.write(json.dumps(capacity.as_dict(), indent=2) if options["json"]
                                  else render_capacity(capacity))
                return
            load.validate()
            report = run_load(load, log=log)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.stdout.write(render_table(report))
