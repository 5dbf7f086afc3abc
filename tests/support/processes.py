"""Real server processes for tests: Daphne (from tools.loadgen.server) and Debian's nginx.

nginx runs as the current user with its own prefix, so it needs no root, no /etc/nginx and
no /var/log: `nginx -p <prefix> -c <prefix>/nginx.conf -e <prefix>/error.log -g "daemon off;"`.
The site file under test is deploy/nginx.conf, rendered with the ports of this run and
included from the load run's main config (tools.loadgen.cluster), which keeps nginx's defaults
(buffering included).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tools.loadgen.cluster import NginxProcess, find_program, launch_nginx, render_site
from tools.loadgen.server import ROOT, DaphneProcess, free_port, start_daphne, wait_for_port

NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf"
NGINX_PATHS = ("/usr/sbin/nginx",)


def require_program(name: str, paths: tuple[str, ...] = ()) -> str:
    """A Debian program the tests drive; skipped when missing on a developer machine, a failure in CI."""
    found = find_program(name, paths)
    if found:
        return found
    message = f"{name} is missing: run scripts/ensure-system-packages.sh (make test does)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def find_nginx() -> str:
    return require_program("nginx", NGINX_PATHS)


def start_nginx(prefix: Path, *, upstream_port: int, edit_site: Callable[[str], str] | None = None,
                static_root: Path | None = None) -> NginxProcess:
    """nginx on a free loopback port with deploy/nginx.conf in front of 127.0.0.1:`upstream_port`."""
    binary = find_nginx()
    static = static_root or prefix / "static"
    static.mkdir(parents=True, exist_ok=True)
    port = free_port()
    site = render_site(NGINX_TEMPLATE.read_text(), {
        "STREAMUI_LISTEN": f"127.0.0.1:{port}",
        "STREAMUI_SERVER_NAME": "127.0.0.1 localhost",
        "STREAMUI_DAPHNE": f"127.0.0.1:{upstream_port}",
        "STREAMUI_STATIC_ROOT": str(static),
    })
    if edit_site is not None:
        site = edit_site(site)
    return launch_nginx(prefix, port, site, binary)


__all__ = ["DaphneProcess", "NginxProcess", "find_nginx", "free_port", "render_site", "require_program",
           "start_daphne", "start_nginx", "wait_for_port"]
