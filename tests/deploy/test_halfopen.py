"""Review 2.12: half-open (slowloris) connections are dropped by deploy/nginx.conf, not held.

A real nginx with the shipped site file in front of a real Daphne. 60 clients each send part of a
request line and then a byte now and then, never finishing their headers. With the header timeout
cut from the shipped 10 s to 1 s for speed (the test fails if the shipped file has no
client_header_timeout to cut), nginx closes all of them, and Daphne never sees one.
"""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

import pytest

from tests.support.processes import start_daphne, start_nginx

pytestmark = pytest.mark.nginx


def _shorter(site: str) -> str:
    return site.replace("client_header_timeout 10s;", "client_header_timeout 1s;")


def _open_to(pid: int, port: int) -> int:
    """TCP connections of `pid` to 127.0.0.1:`port`, from /proc/net/tcp (established ones)."""
    wanted = f"0100007F:{port:04X}"
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == "01" and fields[9] in inodes:
            count += 1
    return count


def test_review_2_12_nginx_drops_half_open_connections(tmp_path: Path) -> None:
    daphne = start_daphne(tmp_path / "daphne", env={"DJANGO_DEBUG": "0"})
    proxy = start_nginx(tmp_path / "nginx", upstream_port=daphne.port, edit_site=_shorter)
    clients: list[socket.socket] = []
    try:
        for _ in range(60):
            sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: ")
            clients.append(sock)
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            for sock in clients:
                with contextlib.suppress(OSError):
                    sock.send(b"a")
            time.sleep(0.3)
        closed = 0
        for sock in clients:
            sock.settimeout(0.5)
            try:
                sock.send(b"a")
                closed += sock.recv(1024) == b""
            except TimeoutError:
                pass  # still open: nothing to read, nothing refused
            except OSError:
                closed += 1  # reset by nginx (reset_timedout_connection)
        assert closed == len(clients), f"{len(clients) - closed} half-open connections still held by nginx"
        assert _open_to(daphne.pid, daphne.port) == 0  # Daphne never saw them
    finally:
        for sock in clients:
            sock.close()
        proxy.stop()
        daphne.stop()
