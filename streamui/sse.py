"""The Server-Sent Events transport: the same streams over plain HTTP.

For networks where WebSockets do not get through. The widget POSTs its form to
`send` (CSRF-checked like any form) and gets back the new turn plus an element that
opens the stream's event source; `events` follows the stream's journal, each entry
an SSE event whose id is its sequence number, so the browser resumes with
Last-Event-ID after a drop; `stop` stops a stream by id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from markupsafe import Markup

from . import fragments
from .conf import get_settings
from .conversations import Owner
from .hub import StreamAccessError, get_hub
from .journal import Entry
from .protocol import ProtocolError, parse_form
from .streams import close_orphaned, owner_key, render_entry, start_stream
from .tasks import cancel_and_wait

HEARTBEAT_SECONDS = 15.0
_WIDGET_ID = re.compile(r"su-w[A-Za-z0-9_-]{1,40}\Z")


def _widget(widget_id: str) -> str:
    if not _WIDGET_ID.match(widget_id):
        raise ProtocolError("bad widget id")
    return widget_id


def event_source(widget_id: str, stream_id: str, after: int = 0) -> Markup:
    """The element that opens (or, swapped in again, replaces) the widget's event source."""
    url = reverse("streamui:sse-events", args=[stream_id]) + f"?widget={widget_id}&after={after}"
    return Markup('<div id="{}-source" hx-swap-oob="outerHTML" hx-sse:connect="{}" hx-swap="none" '
                  'data-stream="{}"></div>').format(widget_id, url, stream_id)


@require_POST
async def send_view(request: HttpRequest, widget_id: str) -> HttpResponse:
    config = get_settings()
    try:
        widget_id = _widget(widget_id)
        message = parse_form(request.POST, max_prompt_chars=config.max_prompt_chars)
        owner = await _owner(request)
        started = await start_stream(owner, message, address=str(request.META.get("REMOTE_ADDR", "")))
    except ProtocolError as exc:
        return HttpResponse(str(fragments.error(widget_id if _WIDGET_ID.match(widget_id) else "su-w", str(exc))),
                            status=422)
    html = Markup("").join([
        fragments.clear_error(widget_id),
        fragments.conversation_input(widget_id, str(started.conversation.public_id)),
        fragments.stream_input(widget_id, started.stream_id),
        fragments.append_to_log(widget_id, started.turn_html()),
        event_source(widget_id, started.stream_id),
    ])
    return HttpResponse(str(html))


@require_POST
async def new_view(request: HttpRequest, widget_id: str) -> HttpResponse:
    from .conversations import anew_conversation

    try:
        widget_id = _widget(widget_id)
    except ProtocolError:
        return HttpResponse("bad widget id", status=400)
    from .consumers import new_limiter

    owner = await _owner(request)
    if not new_limiter().allow(owner_key(owner)):  # review 2.6, as over the socket
        return HttpResponse(str(fragments.error(widget_id, "Too many new conversations in a minute: wait a moment.")),
                            status=429)
    conversation = await anew_conversation(owner)
    return HttpResponse(str(fragments.clear_log(widget_id) + fragments.clear_error(widget_id)
                            + fragments.conversation_input(widget_id, str(conversation.public_id))
                            + fragments.status(widget_id, "idle")))


@require_POST
async def stop_view(request: HttpRequest) -> HttpResponse:
    import time

    received_at = time.time()
    owner = await _owner(request)
    stream_id = str(request.POST.get("stream", ""))[:64]
    try:
        await get_hub().stop(stream_id, owner_key(owner), received_at=received_at)
    except StreamAccessError:
        return HttpResponse("unknown stream", status=404)
    return HttpResponse(status=204)


@require_GET
async def events_view(request: HttpRequest, stream_id: str) -> HttpResponseBase:
    owner = await _owner(request)
    try:
        widget_id = _widget(request.GET.get("widget", ""))
        after = int(request.headers.get("Last-Event-ID") or request.GET.get("after") or 0)
    except (ProtocolError, ValueError):
        return HttpResponse("bad request", status=400)
    try:
        await get_hub().check_owner(stream_id, owner_key(owner))
        events = _events(stream_id, owner, widget_id, after)
    except StreamAccessError:
        # Its worker died: what the journal holds, then the end, recorded (review 4.2, 4.3).
        orphan = await close_orphaned(stream_id, owner)
        if orphan is None:
            return HttpResponse("unknown stream", status=404)
        events = _orphan_events(stream_id, owner, widget_id, after)
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on as it comes
    # An empty Content-Encoding makes GZipMiddleware leave the stream alone: it would
    # otherwise compress (and, for sync streams, buffer) the events.
    response["Content-Encoding"] = ""
    return response


async def _orphan_events(stream_id: str, owner: Owner, widget_id: str, after: int) -> AsyncIterator[bytes]:
    yield b"retry: 1000\n\n"
    held = await get_hub().replay(stream_id, after)
    for entry in held:
        yield format_event(entry.seq, render_entry(entry, widget_id, stream_id))
    orphan = await close_orphaned(stream_id, owner, restore=not held and after == 0)
    if orphan is not None:
        last = held[-1].seq if held else after
        yield format_event(last + 1, render_entry(orphan, widget_id, stream_id))


async def _events(stream_id: str, owner_obj: Owner, widget_id: str, after: int) -> AsyncIterator[bytes]:
    # A bounded queue: a reader slower than the stream holds the follower back, not memory.
    queue: asyncio.Queue[Entry | None] = asyncio.Queue(maxsize=64)
    owner = owner_key(owner_obj)
    seen: list[Entry] = []

    async def pump() -> None:
        # A separate task, so waiting for a heartbeat never cancels the journal follower.
        try:
            async for entry in get_hub().follow(stream_id, owner, after):
                seen[:] = [entry]
                await queue.put(entry)
            if not seen or not seen[0].final:
                # No final entry: the owning worker died (its lease ran out).
                orphan = await close_orphaned(stream_id, owner_obj, restore=not seen and after == 0)
                if orphan is not None:
                    await queue.put(dataclasses.replace(orphan, seq=(seen[0].seq if seen else after) + 1))
        finally:
            await queue.put(None)

    task = asyncio.create_task(pump(), name=f"streamui-sse-{stream_id}")
    try:
        yield b"retry: 1000\n\n"
        while True:
            try:
                entry = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                yield b": heartbeat\n\n"
                continue
            if entry is None:
                return
            yield format_event(entry.seq, render_entry(entry, widget_id, stream_id))
    finally:
        await cancel_and_wait(task)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def format_event(seq: int, html: str) -> bytes:
    """One SSE event. The spec (and htmx) end a line at CR, LF or CRLF: splitting on all three
    keeps model text from starting an `id:` or `event:` line of its own (review 3.7). Anything
    unencodable becomes U+FFFD rather than killing the event stream in a loop (3.8)."""
    data = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(html))
    return f"id: {int(seq)}\n{data}\n".encode("utf-8", "replace")


async def _owner(request: HttpRequest) -> Owner:
    from asgiref.sync import sync_to_async

    return await sync_to_async(Owner.from_request)(request)


__all__ = ["event_source", "events_view", "format_event", "new_view", "send_view", "stop_view"]
