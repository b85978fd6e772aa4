"""The live stream is gzip-compressed event by event; nothing else the console serves is."""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from detente.web.compress import StreamGzip

EVENTS = [f"id: s.{i}\ndata: <span data-live=on>Updated 12:00:0{i} UTC</span>\n\n".encode() for i in range(5)]


async def _stream(scope: Scope, receive: Receive, send: Send) -> None:
    ctype = b"text/event-stream" if scope["path"] == "/live" else b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", ctype)]})
    for i, event in enumerate(EVENTS):
        await send({"type": "http.response.body", "body": event, "more_body": i < len(EVENTS) - 1})


def _call(path: str, accept: str) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    scope: dict[str, Any] = {
        "type": "http",
        "path": path,
        "headers": [(b"accept-encoding", accept.encode())] if accept else [],
    }
    asyncio.run(StreamGzip(_stream)(scope, receive, send))
    return sent


def _headers(start: Message) -> dict[bytes, bytes]:
    return dict(start["headers"])


def test_each_event_of_the_live_stream_can_be_read_as_soon_as_it_is_sent():
    start, *bodies = _call("/live", "gzip, deflate, br")
    assert _headers(start)[b"content-encoding"] == b"gzip"
    reader = zlib.decompressobj(16 + 15)
    for event, body in zip(EVENTS, bodies, strict=True):
        assert reader.decompress(body["body"]) == event  # nothing held back until later


def test_the_live_stream_is_smaller_compressed():
    plain = sum(len(b["body"]) for b in _call("/live", "")[1:])
    packed = sum(len(b["body"]) for b in _call("/live", "gzip")[1:])
    assert packed < plain


def test_a_client_that_does_not_accept_gzip_gets_the_stream_as_is():
    start, *bodies = _call("/live", "identity")
    assert b"content-encoding" not in _headers(start)
    assert [b["body"] for b in bodies] == EVENTS


def test_pages_are_never_compressed_their_csrf_token_shares_no_context_with_peer_text():
    start, *bodies = _call("/inbox", "gzip")
    assert b"content-encoding" not in _headers(start)
    assert [b["body"] for b in bodies] == EVENTS
