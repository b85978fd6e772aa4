"""Operator commands: send a message, answer one, translate one, test a link (releasing a
draft is ``node.release``).

The same commands serve the API, the CLI and the console. Each checks what it can before
anything is numbered, then numbers, signs and queues the entry in one store transaction and
hands it to the recipients' sessions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from detente.core import presence
from detente.core.entries import (
    LINK_TEST_TEXT,
    Ack,
    Content,
    FormatContent,
    LinkTest,
    MachineMaker,
    Message,
    PersonMaker,
    Precedence,
    Signed,
    TextContent,
    Translation,
    parse_as,
    sign,
    timestamp,
)
from detente.core.formats.exchange import RECONCILIATION, Account
from detente.core.formats.freetext import free_text_at
from detente.core.formats.notice import describe as describe_lead
from detente.core.protocol.txns import Priority, StreamEntry
from detente.node.catalog import FormatRefusal
from detente.store import queries
from detente.store import txns as store_txns

if TYPE_CHECKING:
    from detente.config import Config
    from detente.core.delivery import Deadlines
    from detente.core.formats.notice import LeadTime
    from detente.core.keys import Signer
    from detente.core.protocol.session import PeerSession
    from detente.node.catalog import NodeFormats
    from detente.node.clock import Clock
    from detente.node.driver import Driver
    from detente.node.metrics import NodeMetrics
    from detente.node.mt import MachineTranslation
    from detente.node.restore import RestoreHold
    from detente.store import Connection, Store

logger = logging.getLogger("detente.node")

Build = Callable[[str, dict[str, int], str], StreamEntry]


ACCOUNT_SCAN = 1_000  # newest signed accounts (of any exchange) read for one exchange


class NodeError(ValueError):
    """An operator request the node refuses (unknown peer, unknown message, ...)."""


class NumberingHeld(NodeError):
    """The store was restored from a backup and is not reconciled with the peers yet."""


class UnknownMessage(NodeError):
    """The message named is not held here (the API answers 404)."""


class DiskFull(NodeError):
    """The store's disk is below the operators' watermark: nothing new is signed (the API
    answers 503)."""


class KeyConflict(NodeError):
    """An idempotency key that came before with a different request: nothing is signed (the
    API answers 409)."""


class KeysExhausted(NodeError):
    """The node keeps as many idempotency keys as it may: nothing is signed (the API answers 429)."""


class LateNotice(NodeError):
    """A notice later than its format's lead-time rule, sent without ``late_ok``: nothing is
    signed (the API answers 409). Sent with ``late_ok`` it goes as usual, and every reader of
    it computes the same lateness from its signed fields."""

    def __init__(self, msg: str, lead: LeadTime) -> None:
        super().__init__(msg)
        self.lead = lead


class AlreadyAcknowledged(NodeError):
    """A second answer to a message this party has already answered: nothing is signed."""

    def __init__(self, msg_id: str, prior: Ack) -> None:
        super().__init__(
            f"{msg_id} is already acknowledged by {prior.by} ({prior.answer}) at {prior.created} "
            f"in {prior.id}; a second answer is not signed"
        )
        self.msg_id = msg_id
        self.prior = prior


class Operator:
    """The commands; ``Node`` inherits them and provides what they use."""

    if TYPE_CHECKING:
        party: str
        cfg: Config
        key: Signer
        clock: Clock
        store: Store
        peers: dict[str, PeerSession]
        formats: NodeFormats
        mt: MachineTranslation
        deadlines: Deadlines[tuple[str, str]]
        driver: Driver
        metrics: NodeMetrics
        hold: RestoreHold | None

        def publish(self, event: dict[str, Any]) -> None: ...
        def free_space(self) -> int | None: ...
        def on_answered(self, msg_id: str, owed_by: str, by: str, answer: str) -> None: ...

        async def record(
            self, kind: str, detail: str, peer: str | None = None, ref: str | None = None
        ) -> None: ...

    def check_space(self) -> None:
        """Refuse a new message or translation while the store's disk is nearly full: what is
        left is kept for acknowledgements, receipts and events."""
        free = self.free_space()
        if free is not None and free < self.cfg.min_free_for_operators:
            raise DiskFull(
                f"The node's disk is nearly full ({free >> 20} MiB free): nothing was stored or "
                "signed; free space on the store's disk, then send again."
            )

    def check_lead_time(self, content: Content, now: float, late_ok: bool) -> LeadTime | None:
        """Refuse a late notice unless the sender confirmed it (``late_ok``). Judged at the
        ``created`` the message will be signed with, so the verdict is the one its readers reach."""
        lead = self.formats.lead_time(content, timestamp(now))
        if lead is not None and lead.late and not late_ok:
            raise LateNotice(
                f"this notice is {describe_lead(lead)}; nothing was signed. Send it again "
                "confirming it is late (late_ok) to send it marked late.",
                lead,
            )
        return lead

    async def exchange_accounts(self, ref: str) -> list[Account]:
        """Every signed account of exchange ``ref`` this node holds (its own and its peers'),
        in the order stored; among the newest ``ACCOUNT_SCAN`` accounts of any exchange."""
        needle = f'"format":"{RECONCILIATION}"'.encode()
        held = await self.store.read(lambda c: queries.message_bodies_with(c, needle, ACCOUNT_SCAN))
        out = []
        for msg_id, body in held:
            msg = parse_as(Message, body)
            c = msg.content
            if (
                not isinstance(c, FormatContent)
                or c.format != RECONCILIATION
                or c.fields.get("list_ref") != ref
            ):
                continue
            account = Account.from_message(msg.sender, msg_id, msg.created, msg.to, c.version, c.fields)
            if account is not None:
                out.append(account)
        return out

    def check_recipients(self, to: list[str]) -> list[str]:
        recipients = sorted(set(to))
        if not recipients:
            raise NodeError("a message needs at least one recipient")
        for party in recipients:
            if party == self.party:
                raise NodeError("a party does not send to itself")
            if party not in self.peers:
                known = ", ".join(sorted(self.peers)) or "none"
                raise NodeError(f"{party} is not a pinned peer (pinned: {known})")
        return recipients

    def check_content(self, recipients: list[str], content: Content) -> Content:
        """What will be signed; a format message must validate and be held by every recipient."""
        try:
            return self.formats.prepare(content, recipients)
        except FormatRefusal as exc:
            raise NodeError(str(exc)) from exc

    async def send_message(
        self,
        to: list[str],
        precedence: Precedence,
        content: Content,
        ref: str | None = None,
        *,
        then: Callable[[Connection, str], object] | None = None,
        keyed: store_txns.Keyed | None = None,
        late_ok: bool = False,
        due_at: float | None = None,
    ) -> Signed:
        """Sign and queue a message; ``then`` runs in its transaction (see ``create``).

        ``keyed``: the client's idempotency key; if that key already made this message, the
        message made then is returned and nothing new is signed, queued or watched.
        ``late_ok``: a notice later than its lead-time rule is sent (marked late by its own
        signed fields) instead of refused.
        ``due_at``: its acknowledgement deadline, if not the precedence's (a presence check's).
        """
        recipients = self.check_recipients(to)
        content = self.check_content(recipients, content)
        self.check_space()
        now = self.clock.now()
        self.check_lead_time(content, now, late_ok)
        due = due_at if due_at is not None else now + self.cfg.deadlines[precedence]

        def build(entry_id: str, seqs: dict[str, int], created: str) -> StreamEntry:
            return Message(
                v=1,
                kind="message",
                id=entry_id,
                sender=self.party,
                to=recipients,
                seq=seqs,
                created=created,
                precedence=precedence,
                ack_due=timestamp(due),
                ref=ref,
                content=content,
            )

        made = await self._create(recipients, build, precedence, now, ref, due, None, then, keyed)
        if isinstance(made, store_txns.Replayed):
            return made.signed
        signed, entry = made
        for party in recipients:  # each recipient's answer settles only its own delivery
            self.deadlines.watch((entry.id, party), due)
        return signed

    async def acknowledge(self, msg_id: str, answer: str, by: str, text: str | None) -> Signed:
        row = await self.store.read(lambda c: store_txns.entry_row(c, msg_id))
        if row is None or row.kind != "message":
            raise UnknownMessage(f"no message {msg_id}")
        if row.mine:
            raise NodeError(f"{msg_id} is this party's own message; only its recipients acknowledge it")
        now = self.clock.now()

        def build(entry_id: str, seqs: dict[str, int], created: str) -> StreamEntry:
            return Ack(
                v=1,
                kind="ack",
                id=entry_id,
                sender=self.party,
                to=[row.author],
                seq=seqs,
                created=created,
                msg=msg_id,
                msg_hash=row.hash,
                answer=answer,  # type: ignore[arg-type]
                by=by,
                text=text,
            )

        def answered_once(prior: bytes | None) -> None:
            # Decided in the writer's transaction, so two officers pressing at once cannot
            # both sign: the second finds the first's answer and is refused.
            if prior is not None:
                raise AlreadyAcknowledged(msg_id, parse_as(Ack, prior))

        precedence: Precedence = row.precedence or "routine"
        signed, _ = await self.create(
            [row.author], build, precedence, now, ref=msg_id, guard=(msg_id, answered_once)
        )
        self.deadlines.settled((msg_id, self.party))
        self.publish({"type": "ack", "id": msg_id})
        self.on_answered(msg_id, self.party, by, answer)
        return signed

    async def send_presence(self, to: list[str], within: float) -> Signed:
        """Ask each of ``to`` whether its duty officer is at the line: a presence check that a
        person must answer within ``within`` seconds (see ``core.presence``)."""
        now = self.clock.now()
        return await self.send_message(
            to, presence.PRECEDENCE, presence.content(now, within), due_at=presence.deadline(now, within)
        )

    async def translate(
        self,
        msg_id: str,
        lang: str,
        text: str,
        grade: str,
        made_by: PersonMaker | MachineMaker,
        field: str | None = None,
    ) -> Signed:
        """Sign a translation of a message's free text, for every other party of the message.

        The original is untouched: the translation is an entry of its own naming the message's
        id and hash, who or what made it, and its grade. ``field`` names one free text inside a
        format message (``remarks``, ``events[2].event``); without it, the message is free text.
        """
        row = await self.store.read(lambda c: store_txns.entry_row(c, msg_id))
        if row is None or row.kind != "message":
            raise UnknownMessage(f"no message {msg_id}")
        msg = parse_as(Message, row.body)
        if row.mine:
            # Its recipients translate what they received; the sender's own reading of its text
            # is the text (and the other parties refuse a sender's translation).
            raise NodeError(f"{msg_id} is this party's own message; only its recipients translate it")
        if field is not None:
            original = (
                free_text_at(msg.content.fields, field) if isinstance(msg.content, FormatContent) else None
            )
            if original is None:
                raise NodeError(f"{msg_id} has no free text {field} to translate")
            if original["lang"] == lang:
                raise NodeError(f"{msg_id} {field} is already written in {lang}")
        elif not isinstance(msg.content, TextContent):
            raise NodeError(
                f"{msg_id} is a format message: it is rendered in every language from its signed "
                "fields; only its free text is translated, each named by its field"
            )
        elif msg.content.lang == lang:
            raise NodeError(f"{msg_id} is already written in {lang}")
        recipients = sorted(p for p in {msg.sender, *msg.to} if p != self.party and p in self.peers)
        if not recipients:
            raise NodeError(f"none of {msg_id}'s other parties is a pinned peer")
        self.check_space()
        now = self.clock.now()

        def build(entry_id: str, seqs: dict[str, int], created: str) -> StreamEntry:
            return Translation(
                v=1,
                kind="translation",
                id=entry_id,
                sender=self.party,
                to=recipients,
                seq=seqs,
                created=created,
                msg=msg_id,
                msg_hash=row.hash,
                lang=lang,  # type: ignore[arg-type]
                text=text,
                grade=grade,  # type: ignore[arg-type]
                made_by=made_by,
                **({"field": field} if field is not None else {}),
            )

        try:  # refuse here what would fail inside the write, before anything is numbered
            build(f"{self.party}/1", {p: 1 for p in recipients}, timestamp(now))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise NodeError(f"invalid translation: {where + ': ' if where else ''}{first['msg']}") from exc
        precedence: Precedence = row.precedence or "routine"
        signed, _ = await self.create(recipients, build, precedence, now, ref=msg_id)
        self.publish({"type": "translation", "id": msg_id})
        return signed

    async def machine_translate(self, msg: Message) -> None:
        """Add a machine translation of received free text (never authoritative: grade sight)."""
        assert isinstance(msg.content, TextContent)
        try:
            text = await self.mt.translate(msg.content.text)
            await self.translate(msg.id, self.mt.target, text, "sight", self.mt.made_by())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("machine translation of %s failed: %s", msg.id, exc)
            await self.record("mt-failed", f"machine translation of {msg.id} failed: {exc}", ref=msg.id)

    async def send_link_test(self, party: str) -> Signed:
        self.check_recipients([party])
        now = self.clock.now()

        def build(entry_id: str, seqs: dict[str, int], created: str) -> StreamEntry:
            return LinkTest(
                v=1,
                kind="linktest",
                id=entry_id,
                sender=self.party,
                to=[party],
                seq=seqs,
                created=created,
                text=LINK_TEST_TEXT,
            )

        signed, entry = await self.create([party], build, "flash", now)
        self.peers[party].sup.link_test_sent(entry.id, now)
        return signed

    async def create(
        self,
        recipients: list[str],
        build: Build,
        precedence: Precedence,
        now: float,
        ref: str | None = None,
        ack_due: float | None = None,
        guard: tuple[str, Callable[[bytes | None], None]] | None = None,
        then: Callable[[Connection, str], object] | None = None,
    ) -> tuple[Signed, StreamEntry]:
        """Number, sign and durably queue a stream entry, then hand it to the sessions.

        ``guard`` (a message id, a check) is given our earlier answer to that message, read in
        the same transaction; by raising it refuses the entry before anything is numbered.
        ``then`` is given the entry's id in that transaction; by raising it refuses the entry.
        """
        made = await self._create(recipients, build, precedence, now, ref, ack_due, guard, then, None)
        assert not isinstance(made, store_txns.Replayed)  # only a keyed send replays
        return made

    async def _create(
        self,
        recipients: list[str],
        build: Build,
        precedence: Precedence,
        now: float,
        ref: str | None,
        ack_due: float | None,
        guard: tuple[str, Callable[[bytes | None], None]] | None,
        then: Callable[[Connection, str], object] | None,
        keyed: store_txns.Keyed | None,
    ) -> tuple[Signed, StreamEntry] | store_txns.Replayed:
        if self.hold is not None:
            raise NumberingHeld(self.hold.reason())

        def build_signed(entry_id: str, seqs: dict[str, int]) -> tuple[Signed, StreamEntry]:
            entry = build(entry_id, seqs, timestamp(now))
            return sign(self.key, entry), entry

        store = self.store
        try:
            made = await store.write(
                lambda c: store_txns.create_entry(
                    c,
                    store.counters,
                    self.party,
                    recipients,
                    build_signed,
                    precedence,
                    now,
                    ref,
                    ack_due,
                    guard,
                    then,
                    keyed,
                ),
                Priority.of(precedence),
            )
        except store_txns.KeyReused as exc:
            raise KeyConflict(str(exc)) from exc
        except store_txns.KeysExhausted as exc:
            raise KeysExhausted(str(exc)) from exc
        if isinstance(made, store_txns.Replayed):
            return made
        signed, entry = made
        self.publish({"type": "queued", "id": entry.id, "kind": entry.kind})
        for party, seq in entry.seq.items():
            session = self.peers[party]
            self.metrics.queued(party, entry.id, precedence, now)
            self.driver.execute(session, session.enqueue(seq, precedence, signed, now))
        return signed, entry
