"""Several Daphne processes behind nginx, with Redis: what `streamui_load --processes K` serves.

redis-server runs on a free loopback port in the run's temp dir with no persistence; K
Daphne processes serve the demo site (plus the floor consumer) with STREAMUI_REDIS_URL
set, so the channel layer is channels_redis and the journal and admission are Redis;
they share one SQLite file (tools.loadgen.settings: WAL, busy timeout, IMMEDIATE
transactions). nginx listens on a free port with deploy/nginx.conf's site (its
WebSocket location, headers and timeouts as shipped), the upstream block rewritten to
list the K Daphnes with least_conn and no stickiness. Clients only ever talk to nginx.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .server import ROOT, DaphneProcess, child_pids, free_port, start_daphne, stop_process, wait_for_port

NGINX_SITE = ROOT / "deploy" / "nginx.conf"
NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
REDIS_PATHS = ("/usr/bin/redis-server", "/usr/local/bin/redis-server")
LOAD_SETTINGS = "tools.loadgen.settings"
_PLACEHOLDER = re.compile(r"\$\{(STREAMUI_[A-Z_]+)\}")
_DAPHNES = "__STREAMUI_DAPHNES__"
# One worker is plenty for loopback load and keeps its CPU one process's; each proxied
# socket holds two connections (client side and Daphne side).
_MAIN_CONF = """\
{user}worker_processes 1;
worker_rlimit_nofile 20000;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 10000; }}
http {{
    log_format streamui_upstream '$status $upstream_addr $request_method $uri';
    access_log {prefix}/access.log streamui_upstream;
    client_body_temp_path {prefix}/temp/client_body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    include {prefix}/streamui-site.conf;
}}
"""


def find_program(name: str, paths: Sequence[str]) -> str | None:
    return next((p for p in paths if os.access(p, os.X_OK)), None) or shutil.which(name)


def require(name: str, paths: Sequence[str]) -> str:
    found = find_program(name, paths)
    if found is None:
        raise RuntimeError(f"{name} is not installed: --processes above 1 (and --redis) need redis-server and nginx "
                           "(Debian: apt-get install redis-server nginx-light)")
    return found


@dataclass(slots=True)
class RedisProcess:
    proc: subprocess.Popen[bytes]
    port: int
    _log: IO[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        stop_process(self.proc, self._log)


def start_redis(workdir: Path) -> RedisProcess:
    """redis-server on a free loopback port, no RDB or AOF, its files in `workdir`."""
    binary = require("redis-server", REDIS_PATHS)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = (workdir / "redis.log").open("wb")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(workdir), "--maxclients", "20000"], stdout=log, stderr=subprocess.STDOUT)
    server = RedisProcess(proc, port, log)
    try:
        wait_for_port(port, timeout=15, proc=proc, log=workdir / "redis.log")
    except BaseException:
        server.stop()
        raise
    return server


def render_site(template: str, values: Mapping[str, str]) -> str:
    """Fill deploy/nginx.conf's ${STREAMUI_...} placeholders, and only those."""
    missing = set(_PLACEHOLDER.findall(template)) - set(values)
    if missing:
        raise KeyError(f"no value for {', '.join(sorted(missing))}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def balanced_site(template: str, *, listen: str, upstreams: Sequence[str], static_root: str) -> str:
    """deploy/nginx.conf with its one `server ${STREAMUI_DAPHNE};` turned into a least_conn pool."""
    site = render_site(template, {"STREAMUI_LISTEN": listen, "STREAMUI_SERVER_NAME": "127.0.0.1 localhost",
                                  "STREAMUI_DAPHNE": _DAPHNES, "STREAMUI_STATIC_ROOT": static_root})
    line = f"server {_DAPHNES};"
    if site.count(line) != 1:
        raise ValueError("deploy/nginx.conf no longer has exactly one `server ${STREAMUI_DAPHNE};` line")
    # A WebSocket is one long request: least_conn spreads open sockets, where round-robin spreads
    # connection attempts. No ip_hash or cookie: any process can follow any stream.
    pool = "least_conn;\n" + "".join(f"    server {u};\n" for u in upstreams).rstrip("\n")
    return site.replace(line, pool)


@dataclass(slots=True)
class NginxProcess:
    proc: subprocess.Popen[bytes]
    port: int
    prefix: Path
    _log: IO[bytes]
    workers: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pids(self) -> list[int]:
        return [self.proc.pid, *self.workers]

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def websockets_by_upstream(self) -> Counter[str]:
        """Upgraded (101) requests per upstream address, from the access log."""
        counts: Counter[str] = Counter()
        path = self.prefix / "access.log"
        if path.exists():
            for line in path.read_text(errors="replace").splitlines():
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "101":
                    counts[parts[1]] += 1
        return counts

    def stop(self) -> None:
        stop_process(self.proc, self._log)


def start_nginx(prefix: Path, upstreams: Sequence[str]) -> NginxProcess:
    (prefix / "static").mkdir(parents=True, exist_ok=True)
    port = free_port()
    site = balanced_site(NGINX_SITE.read_text(), listen=f"127.0.0.1:{port}", upstreams=upstreams,
                         static_root=str(prefix / "static"))
    return launch_nginx(prefix, port, site, require("nginx", NGINX_PATHS))


def launch_nginx(prefix: Path, port: int, site: str, binary: str) -> NginxProcess:
    """nginx serving `site` on `port`, with its files in `prefix`: checked with -t first, in the
    foreground, stopped again if it never listens. The load run and the deployment tests share it."""
    (prefix / "temp").mkdir(parents=True, exist_ok=True)
    (prefix / "streamui-site.conf").write_text(site)
    # A root master would hand the workers to "nobody", who cannot enter a private temp dir.
    user = f"user {pwd.getpwuid(os.getuid()).pw_name};\n" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(_MAIN_CONF.format(prefix=prefix, user=user))
    command = [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]
    check = subprocess.run([*command, "-t"], check=False, capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t rejected the generated config:\n{check.stderr}")
    log = (prefix / "nginx.out").open("wb")
    proc = subprocess.Popen([*command, "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT)
    server = NginxProcess(proc, port, prefix, log)
    try:
        wait_for_port(port, timeout=15, proc=proc, log=prefix / "error.log")
        server.workers = child_pids(proc.pid)
    except BaseException:
        server.stop()
        raise
    return server


@dataclass(slots=True)
class Cluster:
    """What a load run talks to: one plain Daphne, or K Daphnes with Redis behind nginx."""

    daphnes: list[DaphneProcess]
    redis: RedisProcess | None = None
    nginx: NginxProcess | None = None

    @property
    def url(self) -> str:
        return self.nginx.url if self.nginx is not None else self.daphnes[0].url

    @property
    def db(self) -> Path:
        return self.daphnes[0].db

    @property
    def daphne_pids(self) -> list[int]:
        return [d.pid for d in self.daphnes]

    def dead(self) -> list[str]:
        gone = [f"Daphne :{d.port} exited {d.proc.returncode}:\n{d.log_tail()}"
                for d in self.daphnes if d.proc.poll() is not None]
        if self.redis is not None and self.redis.proc.poll() is not None:
            gone.append(f"redis-server exited {self.redis.proc.returncode}")
        if self.nginx is not None and self.nginx.proc.poll() is not None:
            gone.append(f"nginx exited {self.nginx.proc.returncode}")
        return gone

    def websockets_per_process(self) -> list[int] | None:
        if self.nginx is None:
            return None
        counts = self.nginx.websockets_by_upstream()
        return [counts.get(f"127.0.0.1:{d.port}", 0) for d in self.daphnes]

    def stop(self) -> None:
        """Front to back, each on its own: one failing to stop leaves none of the others running."""
        parts: list[NginxProcess | DaphneProcess | RedisProcess] = []
        if self.nginx is not None:
            parts.append(self.nginx)
        parts += self.daphnes
        if self.redis is not None:
            parts.append(self.redis)
        errors = []
        for part in parts:
            try:
                part.stop()
            except Exception as exc:  # keep stopping the rest
                errors.append(repr(exc))
        if errors:
            raise RuntimeError("could not stop every process: " + "; ".join(errors))


def enable_wal(db: Path) -> None:
    """WAL is a property of the database file: set once, every connection then uses it."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def start_cluster(workdir: Path, *, processes: int, env: Mapping[str, str], args: Sequence[str] = (),
                  asgi: str, redis: bool = True) -> Cluster:
    """K Daphnes on one database, with Redis and nginx when `redis` (always when K > 1)."""
    if processes > 1 and not redis:
        raise ValueError("several processes need Redis: the in-memory layer and journal are per process")
    if not redis:
        return Cluster([start_daphne(workdir, env=env, args=args, asgi=asgi)])
    cluster = Cluster([])
    try:
        # Both binaries are checked before anything starts.
        require("nginx", NGINX_PATHS)
        cluster.redis = start_redis(workdir / "redis")
        site = workdir / "site"
        full_env = {**env, "STREAMUI_REDIS_URL": cluster.redis.url,
                    "DJANGO_SETTINGS_MODULE": LOAD_SETTINGS}
        for n in range(processes):
            cluster.daphnes.append(start_daphne(site, env=full_env, args=args, asgi=asgi, migrate=n == 0))
            if n == 0:
                enable_wal(cluster.db)
        cluster.nginx = start_nginx(workdir / "nginx", [f"127.0.0.1:{d.port}" for d in cluster.daphnes])
    except BaseException:
        cluster.stop()
        raise
    return cluster


__all__ = ["LOAD_SETTINGS", "Cluster", "NginxProcess", "RedisProcess", "balanced_site", "find_program",
           "start_cluster", "start_nginx", "start_redis"]
