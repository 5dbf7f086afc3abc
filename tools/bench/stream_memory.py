"""What a stream costs in memory while it runs and after it ends, counted by tracemalloc.

Opens N sockets to the real consumer (Channels' communicator, in process: no Daphne, whose own
per-connection cost `streamui_load`'s floor run shows), sends one prompt on each (the embedded
simulated LLM, `steady`), and counts Python allocations at four points: before the sockets,
with the sockets open and idle, mid-stream (every stream running), and after every stream ended
and its socket closed, while the hub still keeps the finished streams for resume
(JOURNAL_RETAIN_SECONDS). The frames are read and dropped as they come, as a browser would.

    python -m tools.bench.stream_memory [--streams 200] [--max-tokens 300]

A fresh SQLite database in a temporary directory; nothing else is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import tracemalloc
from dataclasses import dataclass

from tools.loadgen.frames import read_frame


@dataclass(frozen=True, slots=True)
class MemoryFigures:
    streams: int
    per_socket: float  # bytes: an open, idle chat socket (consumer, session, scope)
    per_live_stream: float  # bytes on top of its socket, mid-stream
    per_finished_stream: float  # bytes a finished stream keeps for resume, its socket closed
    answer_html: float  # bytes: the median finished answer's HTML, for scale


def _setup(max_tokens: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    os.environ["STREAMUI_DB"] = os.path.join(tempfile.mkdtemp(prefix="streamui-memory-"), "db.sqlite3")
    os.environ["STREAMUI_MAX_TOKENS"] = str(max_tokens)
    os.environ["DJANGO_DEBUG"] = "0"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _current() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def _print_top(snapshot: tracemalloc.Snapshot, label: str, limit: int = 15) -> None:
    print(f"-- {label}: where the memory is (by line)", file=sys.stderr)
    for stat in snapshot.statistics("lineno")[:limit]:
        print(f"{stat.size / 1024:10.1f} KiB {stat.count:8d}  {stat.traceback}", file=sys.stderr)


async def _run_all(streams: int, *, top: bool) -> MemoryFigures:
    # One stream first, untraced: the tokenizer, the markdown parser and the templates load once
    # per process, and are no stream's cost.
    await _measure(1, top=False)
    return await _measure(streams, top=top)


async def _measure(streams: int, *, top: bool = False) -> MemoryFigures:
    from asgiref.sync import sync_to_async
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore

    from streamui.hub import get_hub
    from streamui.models import ChatMessage
    from streamui.rendering import markdown_html
    from streamui.routing import websocket_urlpatterns

    def new_session() -> SessionStore:
        store = SessionStore()
        store.create()
        return store

    sessions = [await sync_to_async(new_session)() for _ in range(streams)]
    app = URLRouter(websocket_urlpatterns)
    hub = get_hub()
    ended_before = sum(1 for live_stream in hub.streams.values() if live_stream.ended.is_set())
    tracemalloc.start()
    before = _current()
    sockets: list[WebsocketCommunicator] = []
    for i, session in enumerate(sessions):
        comm = WebsocketCommunicator(app, f"/ws/streamui/chat/su-wmem{i}/")
        comm.scope["session"] = session
        comm.scope["user"] = AnonymousUser()
        connected, _ = await comm.connect()
        assert connected, "the consumer refused the socket"
        sockets.append(comm)
    idle = _current()

    ended: list[asyncio.Event] = [asyncio.Event() for _ in sockets]

    async def read(comm: WebsocketCommunicator, done: asyncio.Event) -> None:
        while True:
            try:
                raw = await comm.receive_from(timeout=120)
            except TimeoutError:
                return
            if read_frame(raw).end_state:  # the load client's reading of a frame (compact or HTML)
                done.set()
                return

    readers = [asyncio.create_task(read(c, e)) for c, e in zip(sockets, ended, strict=True)]
    for comm in sockets:
        await comm.send_to(text_data=json.dumps({"prompt": "Explain how a bill becomes a law.", "conversation": "",
                                                 "headers": {"HX-Request": "true"}}))
    await asyncio.sleep(2.5)  # every stream past its first token, none near its end (~45 tokens/s)
    running = sum(1 for live in hub.streams.values() if not live.ended.is_set())
    live = _current()
    if top:
        _print_top(tracemalloc.take_snapshot(), "mid-stream")
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ended)), timeout=180)
    await asyncio.gather(*readers)
    for comm in sockets:
        await comm.disconnect()
    sockets.clear()
    readers.clear()
    await asyncio.sleep(hub.compact_after + 0.5)  # the journal becomes its snapshot
    finished = _current()
    if top:
        _print_top(tracemalloc.take_snapshot(), "finished")
    tracemalloc.stop()
    kept = sum(1 for live_stream in hub.streams.values() if live_stream.ended.is_set()) - ended_before
    contents = await sync_to_async(lambda: list(ChatMessage.objects.filter(role="assistant")
                                                .values_list("content", flat=True)))()
    sizes = sorted(len(markdown_html(c).encode()) for c in contents)
    if running < streams or kept < streams:
        print(f"warning: {running} of {streams} streams were running mid-stream, {kept} kept after",
              file=sys.stderr)
    return MemoryFigures(
        streams=streams,
        per_socket=(idle - before) / streams,
        per_live_stream=(live - idle) / max(1, running),
        per_finished_stream=(finished - before) / max(1, kept),
        answer_html=float(sizes[len(sizes) // 2]) if sizes else 0.0,
    )


def report(figures: MemoryFigures) -> str:
    kb = 1024
    return "\n".join([
        f"streams: {figures.streams} (tracemalloc: Python allocations, not RSS)",
        "| what | per stream |",
        "| --- | ---: |",
        f"| an open idle socket (consumer, session) | {figures.per_socket / kb:.1f} KiB |",
        f"| a live stream, on top of its socket | {figures.per_live_stream / kb:.1f} KiB |",
        f"| a finished stream kept for resume, socket closed | {figures.per_finished_stream / kb:.1f} KiB |",
        f"| for scale: the median answer's HTML | {figures.answer_html / kb:.1f} KiB |",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--max-tokens", type=int, default=300)
    parser.add_argument("--top", action="store_true", help="also print the biggest allocation sites")
    args = parser.parse_args(argv)
    if not 1 <= args.streams <= 2000:
        parser.error("--streams must be between 1 and 2000")
    _setup(args.max_tokens)
    figures = asyncio.run(_run_all(args.streams, top=args.top))
    print(report(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
