"""The client process of one measured phase, and what is read from the servers while it runs.

`run_clients` starts `python -m tools.loadgen.client`, hands it its config, and between its
"connecting" and "finished" markers reads /proc of the Daphnes (each on its own, peak RSS
sampled), of the other processes by role (redis-server, nginx's master and worker) and
Redis' used memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .config import ClientConfig
from .redis_stats import MemorySampler
from .server import ROOT, ProcStat, proc_stat, proc_stats

RSS_SAMPLE_INTERVAL = 0.1


class _Sampler(threading.Thread):
    """Peak resident memory of each of some processes, sampled until stopped."""

    def __init__(self, pids: Sequence[int]) -> None:
        super().__init__(daemon=True)
        self.pids = list(pids)
        self.peaks = [0] * len(self.pids)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            for n, pid in enumerate(self.pids):
                try:
                    self.peaks[n] = max(self.peaks[n], proc_stat(pid).rss_bytes)
                except (FileNotFoundError, ProcessLookupError):
                    continue
            self._stop_event.wait(RSS_SAMPLE_INTERVAL)

    def stop(self) -> list[int]:
        self._stop_event.set()
        self.join()
        return self.peaks


@dataclass(slots=True)
class Watch:
    """What to read while the clients run: the Daphnes, the other processes by role, Redis."""

    daphnes: Sequence[int]
    others: dict[str, Sequence[int]] = field(default_factory=dict)  # "redis", "nginx": their pids
    redis_url: str | None = None


@dataclass(slots=True)
class ClientRun:
    result: dict[str, Any]
    window_s: float
    server_before: ProcStat | None = None  # summed over the Daphnes
    server_after: ProcStat | None = None
    server_peak_rss: int | None = None  # the Daphnes' peaks, summed (each sampled on its own)
    client_cpu_s: float | None = None
    per_process: list[tuple[ProcStat, ProcStat, int]] = field(default_factory=list)  # before, after, peak RSS
    others_cpu_s: dict[str, float] = field(default_factory=dict)
    redis_idle: int | None = None
    redis_peak: int | None = None


def run_clients(config: ClientConfig, server: int | Watch | None) -> ClientRun:
    """Run the client process; read the servers' and the client's /proc between its markers."""
    watch = Watch([server]) if isinstance(server, int) else server
    pids = list(watch.daphnes) if watch is not None else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "tools.loadgen.client"], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(config.to_json())
    proc.stdin.close()
    sampler: _Sampler | None = None
    redis_sampler: MemorySampler | None = None
    before: list[ProcStat] = []
    after: list[ProcStat] = []
    others_before: dict[str, ProcStat] = {}
    others_cpu: dict[str, float] = {}
    client_before = client_after = None
    window_start = window_end = None
    result: dict[str, Any] | None = None
    killer = threading.Timer(config.duration + 60, proc.kill)  # the client caps itself; this is the backstop
    killer.start()
    try:
        for line in proc.stdout:
            message = json.loads(line)
            event = message.get("event")
            if event == "connecting":
                window_start = time.perf_counter()
                client_before = proc_stat(proc.pid)
                if watch is not None:
                    before = [proc_stat(pid) for pid in pids]
                    others_before = {role: proc_stats(p) for role, p in watch.others.items()}
                    sampler = _Sampler(pids)
                    sampler.start()
                    if watch.redis_url is not None:
                        redis_sampler = MemorySampler(watch.redis_url)
                        redis_sampler.start()
            elif event == "finished":
                window_end = time.perf_counter()
                client_after = proc_stat(proc.pid)
                if watch is not None:
                    after = [proc_stat(pid) for pid in pids]
                    others_cpu = {role: round(proc_stats(p).cpu_seconds - others_before[role].cpu_seconds, 3)
                                  for role, p in watch.others.items()}
            elif event == "result":
                result = message
    finally:
        killer.cancel()
        peaks = sampler.stop() if sampler is not None else []
        redis_peak = redis_sampler.stop() if redis_sampler is not None else None
        proc.wait()
    if result is None or window_start is None or window_end is None:
        raise RuntimeError(f"the client process ended without a result (exit code {proc.returncode})")
    run = ClientRun(result=result, window_s=window_end - window_start, others_cpu_s=others_cpu,
                    client_cpu_s=(client_after.cpu_seconds - client_before.cpu_seconds)
                    if client_before and client_after else None)
    if before and len(after) == len(before):
        run.per_process = [(b, a, max(peak, a.rss_bytes)) for b, a, peak in zip(before, after, peaks, strict=True)]
        run.server_before = ProcStat(sum(b.cpu_seconds for b in before), sum(b.rss_bytes for b in before))
        run.server_after = ProcStat(sum(a.cpu_seconds for a in after), sum(a.rss_bytes for a in after))
        run.server_peak_rss = sum(peak for _b, _a, peak in run.per_process) or None
    if redis_sampler is not None:
        run.redis_idle, run.redis_peak = redis_sampler.idle, redis_peak
    return run


__all__ = ["ClientRun", "Watch", "run_clients"]
