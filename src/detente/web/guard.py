"""What every HTTP request meets before any route: authentication from headers, a body bound,
and the security headers of every response.

An API request is authenticated from its headers alone (the node token or an unrevoked person's
token, ``web.people``), before a byte of its body is read: a
body from someone without a token must cost the node nothing (a 30 MB body once took the node
from 89 to 869 MB before the route's token check ran). Every request's body is bounded: a
declared length over the bound is refused at once; a chunked body is read up to the bound and
refused past it. Every response says ``X-Content-Type-Options: nosniff``; the API's say
``Cache-Control: no-store`` (they carry messages and personal data).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from detente.node.courier import MAX_BYTES as COURIER_MAX_BYTES

API_PREFIX = "/v1/"
MAX_BODY = 16 << 20  # bytes: a batch of 1,000 messages of 16 KB each
# The console's Verify page takes a bundle upload; its own limit is checked again by the page.
# A courier file (node.courier) is bounded by its own limit, checked again by the route.
LARGER_BODIES = {"/verify": (32 << 20) + (64 << 10), "/v1/courier": COURIER_MAX_BYTES}


async def _answer(send: Send, status: int, detail: str, extra: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"cache-control", b"no-store"),
        (b"connection", b"close"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware around the node's app (API and console)."""

    def __init__(
        self,
        app: ASGIApp,
        authenticate: Callable[[str | None], bool | Awaitable[bool]],
        max_body: int = MAX_BODY,
        larger: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.authenticate = authenticate
        self.max_body = max_body
        self.larger = LARGER_BODIES if larger is None else larger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        api = path.startswith(API_PREFIX)
        headers: dict[bytes, bytes] = {}
        for k, v in scope["headers"]:
            headers.setdefault(k.lower(), v)
        if api:
            auth = headers.get(b"authorization")
            known = self.authenticate(None if auth is None else auth.decode("latin-1"))
            if inspect.isawaitable(known):
                known = await known
            if not known:
                await _answer(
                    send,
                    401,
                    "missing or wrong bearer token (see DIR/api-token)",
                    [(b"www-authenticate", b"Bearer")],
                )
                return
        limit = self.larger.get(path, self.max_body)
        declared = headers.get(b"content-length")
        too_big = f"the request body is over the limit of {limit >> 20} MiB"
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await _answer(send, 400, "the Content-Length header is not a number", [])
                return
            if length > limit:
                await _answer(send, 413, too_big, [])
                return
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = await _read_bounded(receive, limit)
            if body is None:
                await _answer(send, 413, too_big, [])
                return
            receive = _replay(body, receive)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = list(message.get("headers", []))
                names = {k.lower() for k, _ in out}
                if b"x-content-type-options" not in names:
                    out.append((b"x-content-type-options", b"nosniff"))
                if api and b"cache-control" not in names:
                    out.append((b"cache-control", b"no-store"))
                message = {**message, "headers": out}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _read_bounded(receive: Receive, limit: int) -> bytes | None:
    """The whole chunked body, or None as soon as it passes ``limit``."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts)
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def _replay(body: bytes, then: Receive) -> Receive:
    """The body already read, then the connection's own messages (its disconnect, when it comes)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await then()

    return receive
