"""`streamui_load --processes 2`: a real redis-server, nginx and two Daphnes, end to end, and the
capacity comparison's bookkeeping.

The end-to-end run is small (6 clients, 80-token answers): it proves the streams went through
nginx to both processes, all ended done, the per-process and Redis figures are there, and
nothing started is left running, also when the run is interrupted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import require_program
from tools.loadgen import runner
from tools.loadgen.capacity import render_capacity, run_capacity
from tools.loadgen.cluster import NGINX_SITE, Cluster, balanced_site, start_cluster
from tools.loadgen.report import ClusterFigures, GapFigures, LoadReport, ProcessFigures
from tools.loadgen.runner import LoadOptions, run_load
from tools.management.commands.streamui_load import counts

CLIENTS = 6


@pytest.fixture
def binaries() -> None:
    require_program("redis-server", ("/usr/bin/redis-server",))
    require_program("nginx", ("/usr/sbin/nginx",))


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Cluster]]:
    """The clusters run_load starts, to check afterwards that every process in them is gone."""
    clusters: list[Cluster] = []
    real = start_cluster

    def keep(*args: Any, **kwargs: Any) -> Cluster:
        cluster = real(*args, **kwargs)
        clusters.append(cluster)
        return cluster

    monkeypatch.setattr("tools.loadgen.runner.start_cluster", keep)
    yield clusters


def all_pids(cluster: Cluster) -> list[int]:
    assert cluster.redis is not None and cluster.nginx is not None
    return [*cluster.daphne_pids, cluster.redis.pid, *cluster.nginx.pids]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers signal 0; it is stopped once its state is Z (or it is reaped).
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.redis
@pytest.mark.nginx
@pytest.mark.usefixtures("binaries")
def test_two_processes_behind_nginx_share_the_streams(started: list[Cluster]) -> None:
    report = run_load(LoadOptions(clients=CLIENTS, duration=25, ramp=0.5, baseline_streams=1, max_tokens=80,
                                  processes=2, floor=False))

    assert (report.streams_completed, report.streams_cut, report.streams_failed) == (CLIENTS, 0, 0), report.errors
    assert report.processes == 2 and report.url.startswith("http://127.0.0.1:")
    [cluster] = started
    assert cluster.nginx is not None and report.url == cluster.nginx.url  # the clients went through nginx
    figures = report.cluster
    assert figures is not None and figures.processes == 2 and len(figures.per_process) == 2
    sockets = [p.websockets for p in figures.per_process]
    assert sum(s or 0 for s in sockets) == CLIENTS and all(s and s >= 1 for s in sockets), sockets
    for process in figures.per_process:
        assert process.cpu_s is not None and process.cpu_s > 0
        assert process.idle_rss_mb is not None and process.peak_rss_mb is not None
        assert 20 < process.idle_rss_mb <= process.peak_rss_mb
    assert report.server_cpu_s == pytest.approx(sum(p.cpu_s or 0 for p in figures.per_process), abs=0.01)
    assert report.peak_rss_mb == pytest.approx(sum(p.peak_rss_mb or 0 for p in figures.per_process), abs=0.2)
    assert figures.redis_cpu_s is not None and figures.redis_cpu_s > 0
    assert figures.nginx_cpu_s is not None and figures.nginx_cpu_s >= 0
    assert figures.redis_idle_mb is not None and figures.redis_peak_mb is not None
    assert figures.redis_idle_mb <= figures.redis_peak_mb
    # Every load-run stream's journal is in Redis, with its entries, after the run.
    assert figures.journal_keys == CLIENTS
    assert figures.journal_key_bytes is not None and figures.journal_key_bytes > 1000
    assert figures.journal_entries is not None and figures.journal_entries > 5
    assert report.tokens_shown is not None and report.tokens_shown > CLIENTS * 40  # from the shared database
    assert all(gone(pid) for pid in all_pids(cluster))


@pytest.mark.redis
@pytest.mark.nginx
@pytest.mark.usefixtures("binaries")
def test_an_interrupted_run_leaves_nothing_running(started: list[Cluster], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: Any) -> LoadReport:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_measure", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_load(LoadOptions(clients=2, processes=2, max_tokens=80))
    [cluster] = started
    assert len(cluster.daphnes) == 2
    assert all(gone(pid) for pid in all_pids(cluster))


def test_the_nginx_site_is_deploy_nginx_conf_with_a_pool() -> None:
    site = balanced_site(NGINX_SITE.read_text(), listen="127.0.0.1:9", upstreams=["127.0.0.1:1", "127.0.0.1:2"],
                         static_root="/tmp/static")
    upstream = site.split("upstream streamui_daphne {", 1)[1].split("}", 1)[0]
    assert [line.strip() for line in upstream.splitlines() if line.strip().startswith(("server", "least_conn"))] == [
        "least_conn;", "server 127.0.0.1:1;", "server 127.0.0.1:2;"]
    assert "ip_hash" not in site and "sticky" not in site and "hash $" not in site
    assert not re.search(r"\$\{STREAMUI_[A-Z_]+\}", site)
    assert "proxy_set_header Upgrade $http_upgrade;" in site  # the shipped WebSocket location, unchanged


def fake_report(processes: int, clients: int, excess: float) -> LoadReport:
    report = LoadReport(clients=clients, duration_limit_s=60, ramp_s=5, upstream="simulated:steady",
                        strategy="adaptive", speed=1.0, max_tokens=300, url="http://127.0.0.1:1", processes=processes)
    report.streams_completed = clients
    report.load, report.baseline = GapFigures(gap_p99_ms=100 + excess), GapFigures(gap_p99_ms=100)
    report.cluster = ClusterFigures(processes=processes, per_process=[ProcessFigures(port=n) for n in range(processes)])
    report.finish()
    return report


def test_the_capacity_search_drops_a_process_count_at_its_first_miss() -> None:
    limits = {1: 150, 2: 300}  # the largest count each meets
    calls: list[tuple[int, int]] = []

    def fake(options: LoadOptions) -> LoadReport:
        assert options.redis and not options.floor  # every run on the same stack, no floor
        calls.append((options.processes, options.clients))
        return fake_report(options.processes, options.clients, 10 if options.clients <= limits[options.processes]
                           else 200)

    result = run_capacity(LoadOptions(), [2, 1], [300, 100, 200, 150, 400], runner=fake)
    # Interleaved, smallest count first; 1 process stops after missing 200, 2 after missing 400.
    assert calls == [(1, 100), (2, 100), (1, 150), (2, 150), (1, 200), (2, 200), (2, 300), (2, 400)]
    assert result.capacity == {1: 150, 2: 300} and result.ratio == 2.0
    assert result.lower_bound == {1: False, 2: False}
    assert "2 processes carry 2.0x the streams of 1" in render_capacity(result)
    assert [row.met for row in result.rows] == [True, True, True, True, False, True, True, False]


def test_a_count_met_at_the_largest_tried_is_a_lower_bound() -> None:
    result = run_capacity(LoadOptions(), [1, 2], [100, 200],
                          runner=lambda o: fake_report(o.processes, o.clients, 10 if o.processes == 2 or
                                                       o.clients == 100 else 90))
    assert result.capacity == {1: 100, 2: 200} and result.lower_bound == {1: False, 2: True}
    assert "(at least)" in render_capacity(result)


def test_a_miss_is_run_again_before_the_process_count_drops_out() -> None:
    outcomes = iter([200.0, 10.0, 200.0, 200.0])  # 100 clients: miss then met; 200: miss twice

    result = run_capacity(LoadOptions(), [1], [100, 200, 300], retries=1,
                          runner=lambda o: fake_report(o.processes, o.clients, next(outcomes)))
    assert [(r.clients, r.met) for r in result.rows] == [(100, False), (100, True), (200, False), (200, False)]
    assert result.capacity == {1: 100}


def test_client_and_process_counts_parse_one_or_a_list() -> None:
    assert counts("100") == [100] and counts("100,200, 300") == [100, 200, 300]
    for bad in ("", "a", "1.5", ",,"):
        with pytest.raises(Exception, match="number"):
            counts(bad)
