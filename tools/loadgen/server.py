"""Daphne as a subprocess on loopback, and what /proc says about a process.

Shared by the load generator and the deployment tests (tests/support/processes.py).
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ASGI = "demo.asgi:application"
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None,
                  log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}:\n{tail}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port} after {timeout}s")


def raise_fd_limit() -> None:
    """Lift the soft open-files limit to the hard one: a thousand sockets pass the usual 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass(frozen=True, slots=True)
class ProcStat:
    cpu_seconds: float  # user + system time of every thread, since the process started
    rss_bytes: int


def proc_stat(pid: int) -> ProcStat:
    with open(f"/proc/{pid}/stat") as f:
        # The command name is in parentheses and may hold spaces: fields count from the last ")".
        fields = f.read().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    with open(f"/proc/{pid}/statm") as f:
        resident_pages = int(f.read().split()[1])
    return ProcStat((utime + stime) / _CLOCK_TICKS, resident_pages * _PAGE_SIZE)


def proc_stats(pids: Sequence[int]) -> ProcStat:
    """CPU and resident memory summed over several processes (a process gone counts as nothing)."""
    cpu, rss = 0.0, 0
    for pid in pids:
        try:
            stat = proc_stat(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        cpu, rss = cpu + stat.cpu_seconds, rss + stat.rss_bytes
    return ProcStat(cpu, rss)


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (nginx's workers under its master), from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:  # field 4 of proc(5): the parent
            children.append(int(entry.name))
    return sorted(children)


@dataclass(slots=True)
class DaphneProcess:
    proc: subprocess.Popen[bytes]
    port: int
    db: Path
    log_path: Path
    _log: IO[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        stop_process(self.proc, self._log)


def stop_process(proc: subprocess.Popen[bytes], log: IO[bytes] | None = None) -> None:
    """SIGTERM, then SIGKILL if it has not gone in 10 s; close its log."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    if log is not None:
        log.close()


def start_daphne(workdir: Path, *, env: Mapping[str, str] | None = None, args: Sequence[str] = (),
                 asgi: str = DEFAULT_ASGI, timeout: float = 60.0, migrate: bool = True) -> DaphneProcess:
    """Migrate a fresh SQLite database in `workdir`, then serve `asgi` on a free loopback port.

    `env` is laid over this process's environment (STREAMUI_SIMULATED_SPEED and the like);
    `args` go to daphne before the application (e.g. ["--ping-interval", "1"]). A second
    process on the same `workdir` shares its database: pass migrate=False to skip the migration.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "db.sqlite3"
    full_env = {"DJANGO_SETTINGS_MODULE": "demo.settings", **os.environ, "STREAMUI_DB": str(db),
                "PYTHONUNBUFFERED": "1", **(env or {})}
    if migrate:
        subprocess.run([sys.executable, "-m", "django", "migrate", "--noinput", "-v0"], cwd=ROOT, env=full_env,
                       check=True)
    port = free_port()
    log_path = workdir / f"daphne-{port}.log"
    log = log_path.open("wb")
    raise_fd_limit()  # inherited by Daphne
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), *args, asgi],
        cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
    )
    server = DaphneProcess(proc, port, db, log_path, log)
    try:
        wait_for_port(port, timeout=timeout, proc=proc, log=log_path)
    except BaseException:
        server.stop()
        raise
    return server


__all__ = ["ROOT", "DaphneProcess", "ProcStat", "child_pids", "free_port", "proc_stat", "proc_stats",
           "raise_fd_limit", "start_daphne", "stop_process", "wait_for_port"]
