"""A peer's link paths: several addresses for one pinned peer, tried in order of preference.

The 1963 hotline had a radio circuit beside its cable. Here a peer may be reached at several
addresses (``[paths]`` in config.toml; the card's one address when none are configured), all
ending at the same pinned certificate: the path changes, the peer's authentication does not.
The dialling side owns the choice: it dials the first address that answers, primary first, and
while a backup carries the link it tries the primary every ``path_probe_every`` seconds; a
primary that answers again takes the link over (the session's usual replacement of a link by a
newer one: everything unreceipted is offered again on it and the store's (peer, seq) key keeps
each entry once). Which path is in use is part of the link's status.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from detente.core.entries import Card, timestamp
from detente.link.transport import Connection, DialError, PeerAddress, Transport

RunLink = Callable[[Connection], Coroutine[Any, Any, None]]


class PeerPaths:
    """The addresses of one peer, primary first, and which one the current link uses."""

    def __init__(self, card: Card, configured: list[str] | None) -> None:
        self.card = card
        self.addresses: list[str] = list(configured) if configured else [card.link]
        self.in_use: int | None = None  # index into addresses of the dialled link's path
        self.accepted_from: str | None = None  # for the side that accepts: where the link came from
        self.errors: dict[str, str] = {}  # address -> the last reason it could not be used
        self.switches = 0  # times the link moved from one path to another
        self.since: float | None = None

    def address(self, index: int) -> PeerAddress:
        card = self.card
        return PeerAddress(card.party, self.addresses[index], card.tls_cert, card.tls_spki)

    async def dial_first(
        self, transport: Transport, on_error: Callable[[DialError], None], before: int | None = None
    ) -> tuple[Connection, int]:
        """A connection on the most preferred address that answers (of the first ``before``).
        Each failure goes to ``on_error``; raises the last ``DialError`` when none answers. A
        refusal (a certificate that is not the pinned one) is reported and the next address is
        tried: whoever answers on one path must not keep the link off the others."""
        last: DialError | None = None
        for index in range(len(self.addresses) if before is None else before):
            address = self.addresses[index]
            try:
                conn = await transport.dial(self.address(index))
            except DialError as exc:
                self.errors[address] = str(exc)
                on_error(exc)
                last = exc
                continue
            self.errors.pop(address, None)
            return conn, index
        assert last is not None
        raise last

    def used(self, index: int, now: float) -> None:
        if self.in_use is not None and self.in_use != index:
            self.switches += 1
        self.in_use = index
        self.since = now

    def status(self, up: bool) -> dict[str, Any]:
        in_use = self.addresses[self.in_use] if up and self.in_use is not None else None
        return {
            "addresses": list(self.addresses),
            "in_use": in_use,
            "primary": in_use is not None and self.in_use == 0,
            "accepted_from": self.accepted_from if up else None,
            "since": timestamp(self.since) if up and self.since is not None else None,
            "switches": self.switches,
            "errors": dict(self.errors),
        }


async def dial_forever(
    paths: PeerPaths,
    transport: Transport,
    run_link: RunLink,
    spawn: Callable[[Coroutine[Any, Any, None], str], asyncio.Task[Any]],
    on_error: Callable[[DialError], None],
    backoff: Callable[[int], float],
    probe_every: float,
    now: Callable[[], float],
) -> None:
    """The dialling side's loop over a peer's paths: connect on the first address that answers;
    while a backup is in use, try the better addresses every ``probe_every`` seconds and move the
    link to one that answers."""
    attempts = 0
    pending: tuple[Connection, int] | None = None

    def refusals_only(exc: DialError) -> None:
        if exc.refused:
            on_error(exc)

    while True:
        if pending is None:
            try:
                pending = await paths.dial_first(transport, on_error)
            except DialError:
                attempts += 1
                await asyncio.sleep(backoff(attempts))
                continue
        attempts = 0
        conn, index = pending
        pending = None
        paths.used(index, now())
        link = spawn(run_link(conn), f"link-{paths.card.party}-{index}")
        while index > 0 and not link.done():
            done, _ = await asyncio.wait({link}, timeout=probe_every)
            if done:
                break
            with contextlib.suppress(DialError):
                # A better path that is still down is its normal state here: only a refusal
                # (a wrong certificate on it) is worth an event.
                pending = await paths.dial_first(transport, refusals_only, before=index)
                break
        if pending is None:
            await link
            await asyncio.sleep(backoff(1))
        # Otherwise the better path's link replaces this one when its hello is accepted; the
        # old link's task ends by itself when the driver closes its connection.
