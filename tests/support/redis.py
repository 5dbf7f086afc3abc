"""A real redis-server on a free loopback port, for the tests that need one."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

from tools.loadgen.server import free_port, stop_process, wait_for_port

from .processes import require_program


def run_redis(workdir: Path) -> Iterator[str]:
    """Start redis-server (no persistence) and yield its URL; stop it afterwards."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = (workdir / "redis.log").open("wb")
    server = require_program("redis-server", ("/usr/bin/redis-server",))
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=15)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(proc, log)
