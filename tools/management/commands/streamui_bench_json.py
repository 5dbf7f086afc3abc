"""Benchmark the partial-JSON parser against re-parsing per chunk (see tools.bench.json_bench)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tools.bench.json_bench import DEFAULT_CHUNK, DEFAULT_SIZES, format_table, human_size, parse_size, run_bench


class Command(BaseCommand):
    help = "Time this parser, jiter and partial-json-parser (re-parsing per chunk) and json.loads on 1 KB..1 MB."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--sizes",
            default=",".join(human_size(s).replace(" ", "") for s in DEFAULT_SIZES),
            help="comma-separated document sizes, e.g. 1KB,10KB,100KB,1MB (decimal units)",
        )
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, help="characters per chunk")
        parser.add_argument("--budget", type=float, default=8.0,
                            help="seconds a re-parser may take per document before it is estimated instead")
        parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            sizes = [parse_size(s) for s in options["sizes"].split(",") if s.strip()]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["chunk_size"] < 1 or not sizes:
            raise CommandError("need at least one size and a chunk size >= 1")
        progress = None if options["json"] else (lambda line: self.stderr.write(line))
        report = run_bench(sizes, options["chunk_size"], options["budget"], progress)
        self.stdout.write(json.dumps(report.to_json(), indent=2) if options["json"] else format_table(report))
