"""gzip for the console's live stream, flushed after every event.

Only the server-sent event stream is compressed, and only for a client that accepts gzip. Its
updates carry read-only fragments and never a form, so no secret (CSRF token, session) shares a
compression context with what a peer wrote: a length side channel (BREACH) has nothing to
reveal there. HTML pages, which carry the CSRF token next to peer text, are not compressed.

Each event is flushed (``Z_SYNC_FLUSH``) so that the browser gets it at once, while the
compressor's window spans the whole connection: an update that repeats the previous one's
markup costs a few bytes. The compressor's state is bounded (``WBITS``, ``MEM_LEVEL``) per open
stream.
"""

from __future__ import annotations

import zlib
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STREAM_PATH = "/live"
WBITS = 16 + 15  # gzip framing, 32 KiB window
MEM_LEVEL = 6  # ~ 2 × 32 KiB + 2^(6+9) bytes of compressor state per stream
LEVEL = 6


def accepts_gzip(scope: Scope) -> bool:
    offered = Headers(scope=scope).get("accept-encoding", "")
    return any(part.split(";")[0].strip().lower() == "gzip" for part in offered.split(","))


class StreamGzip:
    """ASGI middleware: gzip the live stream's ``text/event-stream`` responses, event by event."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != STREAM_PATH or not accepts_gzip(scope):
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = {"z": None}

        async def compressing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=message["headers"])
                streaming = headers.get("content-type", "").startswith("text/event-stream")
                if streaming and "content-encoding" not in headers:
                    state["z"] = zlib.compressobj(LEVEL, zlib.DEFLATED, WBITS, MEM_LEVEL)
                    headers["Content-Encoding"] = "gzip"
                    headers.add_vary_header("Accept-Encoding")
                    if "content-length" in headers:
                        del headers["content-length"]
            elif message["type"] == "http.response.body" and state["z"] is not None:
                z = state["z"]
                more = message.get("more_body", False)
                body = z.compress(message.get("body", b""))
                body += z.flush(zlib.Z_SYNC_FLUSH if more else zlib.Z_FINISH)
                message = {**message, "body": body}
            await send(message)

        await self.app(scope, receive, compressing)
