"""deploy/nginx.conf in a real nginx in front of a real Daphne: streams must not be held back.

- WebSocket: the reveals arrive as they are sent, spread over the stream, the first one
  long before the end, with as many frames and the same spread as straight from Daphne.
- Heartbeats: with nginx's idle timeout cut to 3 s, an idle chat socket survives when
  Daphne pings every second, and is closed by nginx when Daphne pings at its default 20 s.
- SSE: the real transport (/streamui/sse/) delivers an answer event by event through nginx,
  past Django's GZipMiddleware; and, with a stand-in upstream and a site-wide gzip for event
  streams, the location config alone streams events, while the same response elsewhere is
  held to the end unless it carries `X-Accel-Buffering: no`.
"""

from __future__ import annotations

import asyncio
import http.server
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support import processes
from tests.support.processes import DaphneProcess, NginxProcess, start_daphne, start_nginx
from tools.loadgen import cluster
from tools.loadgen.frames import html_of, read_frame
from tools.loadgen.runner import choose_prompts

pytestmark = pytest.mark.nginx

SHORT_IDLE_TIMEOUT = 3  # seconds, nginx's proxy_read_timeout in the heartbeat tests
DAPHNE_ENV = {"STREAMUI_SIMULATED_SPEED": "1.0", "STREAMUI_MAX_TOKENS": "120", "DJANGO_DEBUG": "0"}


@pytest.fixture(scope="module", autouse=True)
def nginx_binary() -> str:
    return processes.find_nginx()


@pytest.fixture(scope="module")
def daphne(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaphneProcess]:
    """Daphne as deployed: default ping interval (20 s)."""
    server = start_daphne(tmp_path_factory.mktemp("daphne"), env=DAPHNE_ENV)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def nginx(daphne: DaphneProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxProcess]:
    proxy = start_nginx(tmp_path_factory.mktemp("nginx"), upstream_port=daphne.port)
    yield proxy
    proxy.stop()


# --- a chat client -----------------------------------------------------------------


class Endpoint(Protocol):
    @property
    def url(self) -> str: ...

    @property
    def ws_url(self) -> str: ...


@dataclass(frozen=True)
class Direct:
    """Daphne itself, for comparison with what comes through nginx."""

    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


async def open_chat(endpoint: Endpoint, widget: str = "su-wnginx") -> ClientConnection:
    """A session from the page, then the chat socket, both through `endpoint`."""
    async with httpx.AsyncClient(base_url=endpoint.url, trust_env=False) as client:
        page = await client.get("/")
    assert page.status_code == 200, page.text[:500]
    session = page.cookies.get("sessionid")
    assert session, "the page did not start a session"
    return await connect(
        f"{endpoint.ws_url}/ws/streamui/chat/{widget}/", origin=endpoint.url,  # type: ignore[arg-type]
        additional_headers={"Cookie": f"sessionid={session}"},
        proxy=None, compression=None, ping_interval=None, open_timeout=10,
    )


async def stream_once(endpoint: Endpoint, prompt: str) -> tuple[list[float], float]:
    """Send one prompt; the arrival times of the reveals and of the final status, from the send."""
    ws = await open_chat(endpoint)
    try:
        sent = time.monotonic()
        await ws.send(json.dumps({"action": "send", "prompt": prompt, "conversation": "",
                                  "upstream": "simulated:steady", "strategy": "adaptive"}))
        arrivals: list[float] = []
        while True:
            info = read_frame(await asyncio.wait_for(ws.recv(), timeout=15))
            now = time.monotonic() - sent
            if info.reveal:
                arrivals.append(now)
            if info.end_state:
                assert info.end_state == "done", info
                return arrivals, now
    finally:
        await ws.close()


# --- WebSocket streaming -------------------------------------------------------------


async def test_fragments_arrive_one_by_one_through_nginx(nginx: NginxProcess, daphne: DaphneProcess) -> None:
    # The longest answer that ends before the cap (a cut one ends "interrupted").
    (prompt,) = choose_prompts(1, int(DAPHNE_ENV["STREAMUI_MAX_TOKENS"]))
    arrivals, done_at = await stream_once(nginx, prompt)

    # steady at 45 tokens/s: 100-odd tokens take over 2 s, which adaptive spreads over
    # word-sized reveals.
    assert len(arrivals) >= 20, arrivals
    assert arrivals[0] < done_at - 1.0, (arrivals[0], done_at)
    span = arrivals[-1] - arrivals[0]
    assert span > 1.5, f"reveals arrived within {span:.3f} s"
    # Held back and released at the end, most would land in the last moments.
    early = sum(1 for t in arrivals if t < arrivals[0] + span / 2)
    assert early >= len(arrivals) // 4, (early, len(arrivals))
    gaps = sorted(b - a for a, b in itertools.pairwise(arrivals))
    assert gaps[len(gaps) // 2] > 0.010, f"median gap {gaps[len(gaps) // 2] * 1000:.1f} ms"

    # The same stream straight from Daphne: nginx passes every frame, at its pace.
    direct, _ = await stream_once(Direct(daphne.port), prompt)
    assert abs(len(arrivals) - len(direct)) <= max(3, len(direct) // 10), (len(arrivals), len(direct))
    assert abs(span - (direct[-1] - direct[0])) < 0.3, (span, direct[-1] - direct[0])


async def test_the_page_and_the_metrics_pass_through(nginx: NginxProcess) -> None:
    async with httpx.AsyncClient(base_url=nginx.url, trust_env=False) as client:
        page = await client.get("/")
        metrics = await client.get("/streamui/metrics/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    # Loopback through the proxy: allowed by both nginx and the view's X-Forwarded-For check.
    assert metrics.status_code == 200 and "# TYPE streamui_streams_total counter" in metrics.text


# --- heartbeats --------------------------------------------------------------------


def short_ws_idle_timeout(site: str) -> str:
    """The rendered site with nginx's idle timeout for /ws/ cut from an hour to a few seconds."""
    long = "proxy_read_timeout 1h;\n        proxy_send_timeout 1h;"
    assert site.count(long) == 1, "the /ws/ timeouts moved: update this test"
    return site.replace(long, f"proxy_read_timeout {SHORT_IDLE_TIMEOUT}s;\n        proxy_send_timeout 1h;")


async def idle_then_talk(proxy: NginxProcess, idle: float) -> float | None:
    """Open a chat, stay silent for `idle` seconds; None if it is still open, else when it closed."""
    ws = await open_chat(proxy, widget="su-widle")
    opened = time.monotonic()
    try:
        try:
            await asyncio.wait_for(ws.recv(), timeout=idle)
        except TimeoutError:
            pass  # nothing to read and still open: what a quiet chat looks like
        except ConnectionClosed:
            return time.monotonic() - opened
        else:
            raise AssertionError("the server sent something to an idle chat")
        await ws.send(json.dumps({"action": "new"}))
        frame = html_of(await asyncio.wait_for(ws.recv(), timeout=5))
        assert 'data-state="idle"' in frame, frame
        return None
    finally:
        await ws.close()


@pytest.fixture(scope="module")
def pinging_daphne(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaphneProcess]:
    server = start_daphne(tmp_path_factory.mktemp("daphne-ping"), env=DAPHNE_ENV,
                          args=["--ping-interval", "1", "--ping-timeout", "10"])
    yield server
    server.stop()


async def test_daphne_pings_keep_an_idle_chat_open(pinging_daphne: DaphneProcess, tmp_path: Path) -> None:
    proxy = start_nginx(tmp_path, upstream_port=pinging_daphne.port, edit_site=short_ws_idle_timeout)
    try:
        closed_after = await idle_then_talk(proxy, idle=SHORT_IDLE_TIMEOUT * 2 + 0.5)
    finally:
        proxy.stop()
    assert closed_after is None, f"closed after {closed_after:.1f} s despite pings"


async def test_without_pings_nginx_closes_an_idle_chat(daphne: DaphneProcess, tmp_path: Path) -> None:
    """The control: same proxy, Daphne's default 20 s ping interval is longer than nginx's patience."""
    proxy = start_nginx(tmp_path, upstream_port=daphne.port, edit_site=short_ws_idle_timeout)
    try:
        closed_after = await idle_then_talk(proxy, idle=SHORT_IDLE_TIMEOUT * 2 + 0.5)
    finally:
        proxy.stop()
    assert closed_after is not None, "nginx's idle timeout did not apply: the ping test proves nothing"
    assert SHORT_IDLE_TIMEOUT - 0.5 < closed_after < SHORT_IDLE_TIMEOUT * 2


# --- server-sent events (a stand-in upstream until the SSE view exists) -----------------

SSE_EVENTS = 6
SSE_INTERVAL = 0.2


class _EventStream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        if "accel=no" in self.path:
            self.send_header("X-Accel-Buffering", "no")
        self.end_headers()
        for n in range(SSE_EVENTS):
            body = f"data: {n}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(body), body))
            self.wfile.flush()
            time.sleep(SSE_INTERVAL)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def sse_proxy(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch
              ) -> Iterator[NginxProcess]:
    """nginx in front of the stand-in, with gzip for event streams in http {} as many sites have."""
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EventStream)
    thread = threading.Thread(target=upstream.serve_forever, daemon=True)
    thread.start()
    gzip = "http {{\n    gzip on;\n    gzip_types text/event-stream;\n    gzip_min_length 0;\n"
    monkeypatch_module.setattr(cluster, "_MAIN_CONF", cluster._MAIN_CONF.replace("http {{\n", gzip))
    proxy = start_nginx(tmp_path_factory.mktemp("nginx-sse"), upstream_port=upstream.server_address[1])
    yield proxy
    proxy.stop()
    upstream.shutdown()
    upstream.server_close()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def event_arrivals(proxy: NginxProcess, path: str) -> list[float]:
    start = time.monotonic()
    arrivals: list[float] = []
    with httpx.stream("GET", proxy.url + path, timeout=10, trust_env=False) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            arrivals.extend([time.monotonic() - start] * chunk.count(b"data:"))
    assert len(arrivals) == SSE_EVENTS
    return arrivals


def spread(arrivals: list[float]) -> float:
    return arrivals[-1] - arrivals[0]


def test_the_sse_location_streams_events_one_by_one(sse_proxy: NginxProcess) -> None:
    arrivals = event_arrivals(sse_proxy, "/streamui/sse/chat/")
    assert spread(arrivals) > (SSE_EVENTS - 2) * SSE_INTERVAL, arrivals


def test_elsewhere_an_event_stream_is_held_back(sse_proxy: NginxProcess) -> None:
    """The control: without the SSE location or the header, the events land together at the end."""
    arrivals = event_arrivals(sse_proxy, "/elsewhere/events/")
    assert spread(arrivals) < SSE_INTERVAL / 2, arrivals


def test_x_accel_buffering_no_streams_it_anywhere(sse_proxy: NginxProcess) -> None:
    arrivals = event_arrivals(sse_proxy, "/elsewhere/events/?accel=no")
    assert spread(arrivals) > (SSE_EVENTS - 2) * SSE_INTERVAL, arrivals


# --- the real SSE transport through nginx ----------------------------------------------


async def test_the_sse_transport_arrives_event_by_event_through_nginx(nginx: NginxProcess) -> None:
    (prompt,) = choose_prompts(1, int(DAPHNE_ENV["STREAMUI_MAX_TOKENS"]))
    widget = "su-wssenginx"
    async with httpx.AsyncClient(base_url=nginx.url, trust_env=False, timeout=30) as client:
        page = await client.get("/?transport=sse")
        token = page.cookies["csrftoken"]
        started = await client.post(f"/streamui/send/{widget}/", data={
            "prompt": prompt, "upstream": "simulated:steady", "strategy": "adaptive", "csrfmiddlewaretoken": token},
            headers={"Referer": nginx.url + "/", "Accept-Encoding": "gzip"})
        assert started.status_code == 200, started.text[:300]
        url = started.text.split('hx-sse:connect="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        sent = time.monotonic()
        arrivals: list[float] = []
        done_at = None
        async with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as events:
            assert events.headers["content-type"].startswith("text/event-stream")
            assert "gzip" not in events.headers.get("content-encoding", "")
            async for chunk in events.aiter_text():
                now = time.monotonic() - sent
                if "-out-" in chunk:
                    arrivals.extend([now] * chunk.count("\nid: ") or [now])
                if 'data-state="done"' in chunk or 'data-state="interrupted"' in chunk:
                    done_at = now
                    break
    assert done_at is not None and len(arrivals) >= 20, (done_at, len(arrivals))
    assert arrivals[0] < done_at - 1.0  # the first text came long before the end
    assert arrivals[-1] - arrivals[0] > 1.5  # spread over the stream, not released at the end
