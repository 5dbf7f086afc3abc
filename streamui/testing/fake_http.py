"""Just enough HTTP/1.1 over asyncio streams for the fake LLM server.

One request per connection (every response says `Connection: close`): read the request
head and body within size limits, answer with JSON, or stream a chunked body.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024

REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large",
           429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}

EVENT_STREAM_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                     b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")


class HTTPError(Exception):
    """Answered as `{"error": {"message": ...}}` with this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes]:
    """The method, the path without its query, the headers (lower-case names) and the body."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise HTTPError(400, "headers too large") from None
    if len(head) > MAX_HEADER_BYTES:
        raise HTTPError(400, "headers too large")
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, path, _version = lines[0].split(" ", 2)
    except ValueError:
        raise HTTPError(400, "bad request line") from None
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    if length > MAX_BODY_BYTES:
        raise HTTPError(413, "body too large")
    body = await reader.readexactly(length) if length else b""
    return method, path.split("?", 1)[0], headers, body


async def send_json(writer: asyncio.StreamWriter, status: int, obj: Any,
                    extra_headers: dict[str, str] | None = None) -> None:
    payload = json.dumps(obj).encode()
    headers = {"Content-Type": "application/json", "Content-Length": str(len(payload)),
               "Connection": "close", **(extra_headers or {})}
    head = f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode() + payload)
    await writer.drain()


async def write_chunk(writer: asyncio.StreamWriter, data: bytes, *, byte_at_a_time: bool = False) -> None:
    """One chunk of a chunked body, or with `byte_at_a_time` one chunk per byte."""
    if byte_at_a_time:
        # Multi-byte characters then arrive split across the client's reads.
        for i in range(len(data)):
            writer.write(b"1\r\n" + data[i : i + 1] + b"\r\n")
            await writer.drain()
        return
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    await writer.drain()


async def end_chunks(writer: asyncio.StreamWriter) -> None:
    writer.write(b"0\r\n\r\n")
    await writer.drain()


__all__ = ["EVENT_STREAM_HEAD", "MAX_BODY_BYTES", "MAX_HEADER_BYTES", "REASONS", "HTTPError", "end_chunks",
           "read_request", "send_json", "write_chunk"]
