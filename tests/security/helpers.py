"""What the security tests share: a websocket through the whole ASGI stack, and a check
that markup the server sends cannot run script."""

from __future__ import annotations

import asyncio
import re
from html.parser import HTMLParser
from typing import Any

from channels.testing import WebsocketCommunicator

from demo.asgi import application
from tools.loadgen.wire_reader import decode

WIDGET = "su-wsec"
PATH = f"/ws/streamui/chat/{WIDGET}/"
ORIGIN = b"http://127.0.0.1:8000"  # the page's own origin: the Host below, with its scheme and port
ENDED = re.compile(r'data-state="(done|stopped|interrupted)"')


async def open_socket(
    session_key: str | None, origin: bytes | None = ORIGIN
) -> tuple[WebsocketCommunicator, bool, Any]:
    """A websocket to demo.asgi.application: the origin validator, session and auth middleware, the router."""
    headers = [(b"host", b"127.0.0.1:8000")]
    if origin is not None:
        headers.append((b"origin", origin))
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    comm = WebsocketCommunicator(application, PATH, headers=headers)
    connected, detail = await comm.connect(timeout=5)
    return comm, connected, detail


async def next_frame(comm: WebsocketCommunicator, timeout: float = 10) -> str:
    """The HTML of the next frame the server sends (every frame is JSON with `content`)."""
    return str(decode(await next_message(comm, timeout), comm)["content"])


async def next_message(comm: WebsocketCommunicator, timeout: float = 10) -> str:
    """The next text frame the server sends, raw; fails at once (not at the timeout) if the consumer
    raised, and if the server closes the socket or sends bytes."""
    getter = asyncio.ensure_future(comm.output_queue.get())
    await asyncio.wait({getter, comm.future}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if not getter.done():
        getter.cancel()
        if comm.future.done():
            comm.future.result()  # raises what the consumer raised
            raise AssertionError("the application ended without closing the socket")
        raise TimeoutError(f"nothing from the server in {timeout} s")
    out = getter.result()
    assert out["type"] == "websocket.send", f"the server closed the socket: {out}"
    assert isinstance(out.get("text"), str), f"a binary frame from the server: {out}"
    return str(out["text"])


UNSAFE_TAGS = {
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "style",
    "link",
    "meta",
    "base",
    "template",
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcdoc", "data"}


class MarkupAudit(HTMLParser):
    """Everything in a document or fragment that could run script, or that a strict CSP would block.

    `scripts`: each <script>'s src and its text; `handlers`: on* (and htmx hx-on*) attributes;
    `inline_styles`: style attributes and <style> elements; `unsafe`: tags a fragment must never
    carry and javascript:-like URLs.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[str | None, str]] = []
        self.handlers: list[str] = []
        self.inline_styles: list[str] = []
        self.unsafe: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append((dict(attrs).get("src"), ""))
            self._in_script = True
        if tag == "style":
            self.inline_styles.append("<style>")
        if tag in UNSAFE_TAGS:
            self.unsafe.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith(("on", "hx-on")):
                self.handlers.append(f"{tag}[{name}]")
            if name == "style":
                self.inline_styles.append(f"{tag}[style={value!r}]")
            if name in URL_ATTRIBUTES and re.sub(r"[\s\x00-\x1f]", "", value or "").lower().startswith(
                ("javascript:", "vbscript:", "data:text/html")
            ):
                self.unsafe.append(f"{tag}[{name}={value!r}]")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and self.scripts:
            src, text = self.scripts[-1]
            self.scripts[-1] = (src, text + data)


def audit(markup: str) -> MarkupAudit:
    parser = MarkupAudit()
    parser.feed(markup)
    parser.close()
    return parser


def assert_inert(fragment: str) -> None:
    """A fragment the server sends: nothing in it can run script."""
    found = audit(fragment)
    problems = found.unsafe + found.handlers
    assert not problems, f"live markup in a frame: {problems}: {fragment[:300]!r}"


def assert_csp_clean_page(page: str, where: str) -> None:
    """A page: scripts only from files (a src, no body), no handler attributes, no inline style."""
    found = audit(page)
    inline = [(src, text) for src, text in found.scripts if not src or text.strip()]
    assert not inline, f"{where}: inline script {inline}"
    assert not found.handlers, f"{where}: handler attributes {found.handlers}"
    assert not found.inline_styles, f"{where}: inline style (a strict CSP blocks it) {found.inline_styles}"
