"""The courier path's API: a peer's courier file out, a courier file in (node.courier)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Request, Response

from detente.node.courier import MAX_BYTES, CourierError, courier_in, courier_out

if TYPE_CHECKING:
    from detente.node.node import Node

MEDIA = "application/x-ndjson"


def add_courier_routes(app: FastAPI, node: Node, sender: list[Any]) -> None:
    """``sender``: the dependencies of a person who may send (a courier file carries what the
    node signed, and taking one in signs receipts)."""

    @app.get("/v1/courier/{party}", dependencies=sender, responses={404: {}})
    async def out(party: str) -> Response:
        """What ``party`` lacks, as a courier file: our unreceipted entries and our receipts for
        its latest entries."""
        try:
            data = await courier_out(node, party)
        except CourierError as exc:
            raise HTTPException(404, str(exc)) from exc
        return Response(data, media_type=MEDIA)

    @app.post("/v1/courier", dependencies=sender, responses={400: {}, 413: {}, 503: {}})
    async def take(request: Request) -> dict[str, Any]:
        """Take a courier file in, through the same checks as the link; the answer counts what
        was held, recorded and refused."""
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BYTES:
                raise HTTPException(413, f"a courier file is at most {MAX_BYTES} bytes")
        if node.hold is not None:
            raise HTTPException(503, "this node is held after a restore and takes nothing in yet")
        try:
            return await courier_in(node, bytes(body))
        except CourierError as exc:
            raise HTTPException(400, str(exc)) from exc
