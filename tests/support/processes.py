"""Real server processes for tests: Daphne (from tools.loadgen.server) and Debian's nginx.

nginx runs as the current user with its own prefix, so it needs no root, no /etc/nginx and
no /var/log: `nginx -p <prefix> -c <prefix>/nginx.conf -e <prefix>/error.log -g "daemon off;"`.
The site file under test is deploy/nginx.conf, rendered with the ports of this run and
included from a minimal main config that keeps nginx's defaults (buffering included).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from tools.loadgen.server import ROOT, DaphneProcess, free_port, start_daphne, stop_process, wait_for_port

NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf"
NGINX_PATHS = ("/usr/sbin/nginx",)
_PLACEHOLDER = re.compile(r"\$\{(STREAMUI_[A-Z_]+)\}")

_MAIN_CONF = """\
{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/temp/client_body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    include {prefix}/streamui-site.conf;
}}
"""


def require_program(name: str, paths: tuple[str, ...] = ()) -> str:
    """A Debian program the tests drive; skipped when missing on a developer machine, a failure in CI."""
    found = next((p for p in paths if os.access(p, os.X_OK)), None) or shutil.which(name)
    if found:
        return found
    message = f"{name} is missing: run scripts/ensure-system-packages.sh (make test does)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def find_nginx() -> str:
    return require_program("nginx", NGINX_PATHS)


def render_site(template: str, values: Mapping[str, str]) -> str:
    """Fill the ${STREAMUI_...} placeholders, and only those (nginx's own $variables stay)."""
    wanted = set(_PLACEHOLDER.findall(template))
    missing = wanted - set(values)
    if missing:
        raise KeyError(f"no value for {', '.join(sorted(missing))}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


@dataclass(slots=True)
class NginxProcess:
    proc: subprocess.Popen[bytes]
    port: int
    prefix: Path
    _log: IO[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        stop_process(self.proc, self._log)  # SIGTERM: nginx's fast shutdown


def start_nginx(prefix: Path, *, upstream_port: int, edit_site: Callable[[str], str] | None = None,
                static_root: Path | None = None) -> NginxProcess:
    """nginx on a free loopback port with deploy/nginx.conf in front of 127.0.0.1:`upstream_port`."""
    binary = find_nginx()
    (prefix / "temp").mkdir(parents=True, exist_ok=True)
    static = static_root or prefix / "static"
    static.mkdir(exist_ok=True)
    port = free_port()
    site = render_site(NGINX_TEMPLATE.read_text(), {
        "STREAMUI_LISTEN": f"127.0.0.1:{port}",
        "STREAMUI_SERVER_NAME": "127.0.0.1 localhost",
        "STREAMUI_DAPHNE": f"127.0.0.1:{upstream_port}",
        "STREAMUI_STATIC_ROOT": str(static),
    })
    if edit_site is not None:
        site = edit_site(site)
    (prefix / "streamui-site.conf").write_text(site)
    # A root master would hand the workers to "nobody", who cannot enter pytest's private temp dirs.
    user = f"user {pwd.getpwuid(os.getuid()).pw_name};\n" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(_MAIN_CONF.format(prefix=prefix, user=user))
    command = [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]
    check = subprocess.run([*command, "-t"], check=False, capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t rejected the config:\n{check.stderr}")
    log = (prefix / "nginx.out").open("wb")
    proc = subprocess.Popen([*command, "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT)
    server = NginxProcess(proc, port, prefix, log)
    try:
        wait_for_port(port, timeout=15, proc=proc, log=prefix / "error.log")
    except BaseException:
        server.stop()
        raise
    return server


__all__ = ["DaphneProcess", "NginxProcess", "find_nginx", "free_port", "render_site", "require_program",
           "start_daphne", "start_nginx", "wait_for_port"]
