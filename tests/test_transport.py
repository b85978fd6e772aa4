"""The TLS transport over real loopback TLS 1.3 with pinned self-signed certificates."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from detente.link.frames import HEADER, FrameError
from detente.link.tcp import TlsTransport
from detente.link.tls import client_context, make_certificate, spki_hash_pem
from detente.link.transport import Connection, DialError, LinkClosed, PeerAddress

LIMIT = 64 * 1024
WAIT = 5.0  # seconds: every wait on loopback is bounded


@dataclasses.dataclass
class Identity:
    cert_file: str
    key_file: str
    address: PeerAddress


def identity(tmp_path: Path, party: str, link: str = "127.0.0.1:1") -> Identity:
    """A party's TLS key and self-signed certificate, as ``detente init`` makes them."""
    key = Ed25519PrivateKey.generate()
    cert = make_certificate(party, key, dt.datetime.now(dt.UTC))
    cert_file, key_file = tmp_path / f"{party}.crt", tmp_path / f"{party}.key"
    cert_file.write_bytes(cert)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    address = PeerAddress(party=party, link=link, tls_cert=cert.decode(), tls_spki=spki_hash_pem(cert))
    return Identity(str(cert_file), str(key_file), address)


def transport(me: Identity, peers: list[Identity]) -> TlsTransport:
    return TlsTransport(
        cert_file=me.cert_file,
        key_file=me.key_file,
        peers=[p.address for p in peers],
        host="127.0.0.1",
        port=0,
        max_frame=LIMIT,
    )


class Listener:
    """A listening transport that records what it accepted and what it refused."""

    def __init__(self, me: Identity, peers: list[Identity]) -> None:
        self.me = me
        self.transport = transport(me, peers)
        self.accepted: asyncio.Queue[Connection] = asyncio.Queue()
        self.refused: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.release = asyncio.Event()

    async def start(self) -> PeerAddress:
        async def on_connection(conn: Connection) -> None:
            await self.accepted.put(conn)
            await self.release.wait()  # the connection is the handler's while it runs

        await self.transport.listen(on_connection, lambda where, why: self.refused.put_nowait((where, why)))
        host, port = self.transport.address
        return dataclasses.replace(self.me.address, link=f"{host}:{port}")

    async def close(self) -> None:
        self.release.set()
        await self.transport.close()


@pytest.fixture
def parties(tmp_path: Path) -> dict[str, Identity]:
    return {p: identity(tmp_path, p) for p in ("RU-MOD", "US-EUCOM", "UA-GS")}


async def test_a_pinned_peer_connects_is_attributed_by_its_key_and_frames_pass_both_ways(parties):
    ru, us = parties["RU-MOD"], parties["US-EUCOM"]
    listener = Listener(us, [ru])
    address = await listener.start()
    try:
        dialed = await transport(ru, [us]).dial(address)
        accepted = await asyncio.wait_for(listener.accepted.get(), WAIT)
        assert dialed.peer_spki == us.address.tls_spki
        assert accepted.peer_spki == ru.address.tls_spki
        for i in range(3):
            dialed.write({"t": "ping", "n": i})
        got = [await asyncio.wait_for(accepted.read(LIMIT), WAIT) for _ in range(3)]
        assert got == [{"t": "ping", "n": i} for i in range(3)]
        accepted.write({"t": "pong", "text": "привет"})
        assert await asyncio.wait_for(dialed.read(LIMIT), WAIT) == {"t": "pong", "text": "привет"}
        dialed.close()
    finally:
        await listener.close()


async def test_close_sends_what_is_queued_before_the_link_closes(parties):
    ru, us = parties["RU-MOD"], parties["US-EUCOM"]
    listener = Listener(us, [ru])
    address = await listener.start()
    try:
        dialed = await transport(ru, [us]).dial(address)
        accepted = await asyncio.wait_for(listener.accepted.get(), WAIT)
        dialed.write({"t": "error", "code": "bad-frame"})
        dialed.close()
        assert dialed.is_closing()
        assert await asyncio.wait_for(accepted.read(LIMIT), WAIT) == {"t": "error", "code": "bad-frame"}
        with pytest.raises(LinkClosed):
            await asyncio.wait_for(accepted.read(LIMIT), WAIT)
    finally:
        await listener.close()


async def test_a_certificate_pinned_for_no_peer_is_refused_and_reported(parties):
    us, ua, ru = parties["US-EUCOM"], parties["UA-GS"], parties["RU-MOD"]
    listener = Listener(us, [ru])  # UA-GS is not pinned here, though UA-GS pins US-EUCOM
    address = await listener.start()
    try:
        # Under TLS 1.3 the dialer learns of the refusal only when it reads.
        dialed = await transport(ua, [us]).dial(address)
        with pytest.raises(LinkClosed):
            await asyncio.wait_for(dialed.read(LIMIT), WAIT)
        where, why = await asyncio.wait_for(listener.refused.get(), WAIT)
        assert where.startswith("127.0.0.1:")
        assert why.startswith("TLS handshake refused: ")
        assert listener.accepted.empty()
    finally:
        await listener.close()


async def test_a_dial_to_a_node_presenting_another_certificate_is_refused(parties):
    us, ua, ru = parties["US-EUCOM"], parties["UA-GS"], parties["RU-MOD"]
    listener = Listener(us, [ru])
    address = await listener.start()
    try:
        # RU-MOD expects UA-GS's certificate at this address, and US-EUCOM answers.
        impostor = dataclasses.replace(ua.address, link=address.link)
        with pytest.raises(DialError) as refused:
            await transport(ru, [ua]).dial(impostor)
        assert refused.value.refused
        assert str(refused.value).startswith("UA-GS presented a certificate that is not the pinned one (")
    finally:
        await listener.close()


async def test_a_dial_to_an_address_where_no_one_listens_cannot_reach_it(parties):
    us, ru = parties["US-EUCOM"], parties["RU-MOD"]
    listener = Listener(us, [ru])
    address = await listener.start()
    await listener.close()  # the port was ours and is now closed
    with pytest.raises(DialError) as failed:
        await transport(ru, [us]).dial(address)
    assert not failed.value.refused
    assert str(failed.value).startswith(f"cannot reach {address.link}: ")


async def test_an_oversized_frame_is_refused_on_its_header_before_its_body_is_read(parties):
    ru, us = parties["RU-MOD"], parties["US-EUCOM"]
    listener = Listener(us, [ru])
    address = await listener.start()
    try:
        # A hostile peer announces 2 GiB and sends nothing more: the read fails at once.
        ctx = client_context(ru.cert_file, ru.key_file, us.address.tls_cert)
        host, port = address.link.rsplit(":", 1)
        _, writer = await asyncio.open_connection(host, int(port), ssl=ctx, server_hostname=None)
        writer.write(HEADER.pack(2**31))
        accepted = await asyncio.wait_for(listener.accepted.get(), WAIT)
        with pytest.raises(FrameError, match="exceeds the limit"):
            await asyncio.wait_for(accepted.read(LIMIT), WAIT)
        writer.close()
    finally:
        await listener.close()


async def test_a_frame_that_is_not_a_json_object_is_a_frame_error(parties):
    ru, us = parties["RU-MOD"], parties["US-EUCOM"]
    listener = Listener(us, [ru])
    address = await listener.start()
    try:
        ctx = client_context(ru.cert_file, ru.key_file, us.address.tls_cert)
        host, port = address.link.rsplit(":", 1)
        _, writer = await asyncio.open_connection(host, int(port), ssl=ctx, server_hostname=None)
        writer.write(HEADER.pack(3) + b"[1]")
        accepted = await asyncio.wait_for(listener.accepted.get(), WAIT)
        with pytest.raises(FrameError):
            await asyncio.wait_for(accepted.read(LIMIT), WAIT)
        writer.close()
    finally:
        await listener.close()


async def test_the_transport_closes_an_accepted_connection_when_its_handler_returns(parties):
    ru, us = parties["RU-MOD"], parties["US-EUCOM"]
    server = transport(us, [ru])

    async def answer_once(conn: Connection) -> None:
        conn.write({"t": "hello", "n": await conn.read(LIMIT)})

    await server.listen(answer_once, lambda where, why: None)
    host, port = server.address
    try:
        dialed = await transport(ru, [us]).dial(dataclasses.replace(us.address, link=f"{host}:{port}"))
        dialed.write({"t": "hello"})
        assert await asyncio.wait_for(dialed.read(LIMIT), WAIT) == {"t": "hello", "n": {"t": "hello"}}
        with pytest.raises(LinkClosed):
            await asyncio.wait_for(dialed.read(LIMIT), WAIT)
    finally:
        await server.close()


async def test_closing_the_transport_ends_the_handlers_of_accepted_connections(parties):
    ru, us = parties["RU-MOD"], parties["US-EUCOM"]
    listener = Listener(us, [ru])  # its handlers wait until released, which never happens here
    address = await listener.start()
    dialed = await transport(ru, [us]).dial(address)
    await asyncio.wait_for(listener.accepted.get(), WAIT)
    await asyncio.wait_for(listener.transport.close(), WAIT)
    with pytest.raises(LinkClosed):
        await asyncio.wait_for(dialed.read(LIMIT), WAIT)
