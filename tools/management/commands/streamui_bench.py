"""Replay traces through smoothing strategies on a virtual clock (see tools.bench.trace_bench);
with --commit, through the commit stage and then a strategy (see tools.bench.commit_bench)."""

from __future__ import annotations

import io
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tools.bench.trace_bench import add_arguments, main


class Command(BaseCommand):
    help = (
        "Replay each trace through each smoothing strategy on a virtual clock and report added time to "
        "first token, completion delay, gaps, stall time, bursts and the offline optimum. With --commit, "
        "run the commit stage in front of the strategy and report visible retractions, the hold it added "
        "and the whole pipeline's pace."
    )

    def add_arguments(self, parser: Any) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        out, err = io.StringIO(), io.StringIO()
        status = main(options, out, err)
        self.stdout.write(out.getvalue(), ending="")
        self.stderr.write(err.getvalue(), ending="")
        if status == 2:
            raise CommandError("bad arguments (see above)", returncode=status)
        if status:
            raise CommandError("some traces could not be benchmarked (see above)", returncode=status)
