"""The SQL of the link protocol: one function per named transaction and read of ``core.protocol.txns``.

Each write runs inside the single writer's transaction (``Store.write``): it loads the state a
decision needs, calls the transaction's pure decision, and persists the outcome, so what a
receipt or a cosignature depends on is committed before it leaves. Statements used per message
are built once; parameters travel separately so SQLAlchemy reuses the compiled statement.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, desc, func, select, update

from detente.core.encoding import b64
from detente.core.entries import Signed
from detente.core.protocol import txns as t
from detente.core.protocol.session import Restored
from detente.store.db import insert_ignore
from detente.store.schema import (
    cosignatures,
    deliveries,
    entries,
    entry_marks,
    events,
    evidence,
    idempotency,
    inbound,
    log,
    own_checkpoints,
    peer_keyevents,
    peer_proofs,
    witnessed,
)

INSERT_ENTRY = entries.insert()
INSERT_DELIVERIES = deliveries.insert()
INSERT_LOG = log.insert()
INSERT_INBOUND = inbound.insert()
SELECT_HELD = select(inbound.c.entry_hash, inbound.c.receipt_hash).where(
    inbound.c.peer == bindparam("b_peer"), inbound.c.seq == bindparam("b_seq")
)
SELECT_SIGNED = select(entries.c.body, entries.c.sig).where(entries.c.hash == bindparam("b_hash"))
SELECT_TARGET = select(
    entries.c.hash, entries.c.kind, entries.c.author, entries.c.mine, entries.c.body
).where(entries.c.id == bindparam("b_id"))
MARK_RECEIPTED = (
    update(deliveries)
    .where(deliveries.c.peer == bindparam("b_peer"), deliveries.c.seq == bindparam("b_seq"))
    .values(state="receipted", receipted=bindparam("b_at"), receipt_hash=bindparam("b_hash"))
)


class Counters:
    """Numbers the writer hands out: entry numbers, stream sequence numbers, log indexes.

    They live in ``Store.counters`` (restored by the store when a batch rolls back, so a failed
    write never leaves a gap a peer would wait for) and are loaded from the tables at start.
    """

    @staticmethod
    def load(conn: Connection, counters: dict[str, int], own_party: str, peers: list[str]) -> None:
        counters["log"] = conn.execute(select(func.count()).select_from(log)).scalar_one()
        n = 0
        for (entry_id,) in conn.execute(
            select(entries.c.id).where(entries.c.mine, entries.c.id.is_not(None))
        ):
            n = max(n, int(entry_id.rsplit("/", 1)[1]))
        counters["n"] = n
        for party in peers:
            counters[f"seq:{party}"] = conn.execute(
                select(func.coalesce(func.max(deliveries.c.seq), 0)).where(deliveries.c.peer == party)
            ).scalar_one()


def append_log(conn: Connection, counters: dict[str, int], entry_hash: str) -> int:
    idx = counters["log"]
    conn.execute(INSERT_LOG, {"idx": idx, "entry_hash": entry_hash})
    counters["log"] = idx + 1
    return idx


def _entry_row(
    signed: Signed,
    *,
    entry_id: str | None,
    author: str,
    mine: bool,
    precedence: str | None,
    ref: str | None,
    created: str,
    ack_due: float | None,
    held_since: float,
) -> dict[str, Any]:
    return {
        "hash": signed.hash,
        "id": entry_id,
        "kind": signed.kind,
        "author": author,
        "body": signed.body,
        "sig": signed.sig,
        "mine": mine,
        "precedence": precedence,
        "ref": ref,
        "created": created,
        "ack_due": ack_due,
        "held_since": held_since,
    }


# -- writes --------------------------------------------------------------------------------------------


def accept_entry(
    conn: Connection, counters: dict[str, int], txn: t.AcceptEntry
) -> t.EntryAccepted | t.EntryConflict | t.EntryRefused:
    row = conn.execute(SELECT_HELD, {"b_peer": txn.peer, "b_seq": txn.seq}).first()
    held = None
    if row is not None:
        r = conn.execute(SELECT_SIGNED, {"b_hash": row.receipt_hash}).one()
        held = t.Held(row.entry_hash, Signed("receipt", bytes(r.body), bytes(r.sig)))
    decided = txn.decide(held)
    if decided is not None:
        return decided
    if txn.target_id is not None:
        t_row = conn.execute(SELECT_TARGET, {"b_id": txn.target_id}).first()
        target = (
            t.Target(t_row.hash, t_row.kind, t_row.author, bool(t_row.mine), bytes(t_row.body))
            if t_row is not None
            else None
        )
        refused = txn.judge_target(target)
        if refused is not None:
            return refused
    entry = txn.entry
    # No inbound row means this entry is new: its hash names its sequence number, so the same
    # bytes cannot already be held under another one.
    conn.execute(
        INSERT_ENTRY,
        _entry_row(
            txn.signed,
            entry_id=entry.id,
            author=txn.peer,
            mine=False,
            precedence=getattr(entry, "precedence", None),
            ref=txn.ref,
            created=entry.created,
            ack_due=txn.ack_due,
            held_since=txn.now,
        ),
    )
    if txn.marks:
        conn.execute(
            entry_marks.insert(),
            [
                {"entry_hash": txn.signed.hash, "mark": m.mark, "field": m.field, "reason": m.reason}
                for m in txn.marks
            ],
        )
    rsigned, receipt = txn.sign_receipt(counters["log"])
    conn.execute(
        INSERT_ENTRY,
        _entry_row(
            rsigned,
            entry_id=None,
            author=receipt.sender,
            mine=True,
            precedence=None,
            ref=entry.id,
            created=receipt.stored,
            ack_due=None,
            held_since=txn.now,
        ),
    )
    append_log(conn, counters, rsigned.hash)
    conn.execute(
        INSERT_INBOUND,
        {"peer": txn.peer, "seq": txn.seq, "entry_hash": txn.signed.hash, "receipt_hash": rsigned.hash},
    )
    return t.EntryAccepted(rsigned, fresh=True)


def record_receipt(conn: Connection, counters: dict[str, int], txn: t.RecordReceipt) -> None:
    insert_ignore(
        conn,
        entries,
        _entry_row(
            txn.signed,
            entry_id=None,
            author=txn.peer,
            mine=False,
            precedence=None,
            ref=txn.receipt.entry,
            created=txn.receipt.stored,
            ack_due=None,
            held_since=txn.now,
        ),
        "hash",
    )
    conn.execute(
        MARK_RECEIPTED, {"b_peer": txn.peer, "b_seq": txn.seq, "b_at": txn.now, "b_hash": txn.signed.hash}
    )


def mark_sent(conn: Connection, counters: dict[str, int], txn: t.MarkSent) -> None:
    conn.execute(
        update(deliveries)
        .where(deliveries.c.peer == txn.peer, deliveries.c.seq.in_(txn.seqs), deliveries.c.state == "queued")
        .values(state="sent", first_sent=txn.now)
    )


def save_keyevents(conn: Connection, counters: dict[str, int], txn: t.SaveKeyEvents) -> None:
    for index, signed in txn.events:
        insert_ignore(
            conn,
            peer_keyevents,
            {
                "peer": txn.peer,
                "idx": index,
                "hash": signed.hash,
                "body": signed.body,
                "sig": signed.sig,
                "at": txn.now,
                "proof_size": None,
                "proof": None,
            },
            "peer",
            "idx",
        )


def judge_checkpoint(conn: Connection, counters: dict[str, int], txn: t.JudgeCheckpoint) -> t.Judgement:
    row = conn.execute(
        select(witnessed.c.size, witnessed.c.note)
        .where(witnessed.c.peer == txn.peer)
        .order_by(desc(witnessed.c.size))
        .limit(1)
    ).first()
    last = t.LastWitnessed(row.size, bytes(row.note)) if row is not None else None
    judgement = txn.judge(last)
    if isinstance(judgement, t.Cosign):
        for index, proof in judgement.keyevent_proofs:
            conn.execute(
                update(peer_keyevents)
                .where(peer_keyevents.c.peer == txn.peer, peer_keyevents.c.idx == index)
                .values(proof_size=judgement.size, proof=json.dumps([b64(p) for p in proof]))
            )
        insert_ignore(
            conn,
            witnessed,
            {
                "peer": txn.peer,
                "size": judgement.size,
                "note": judgement.note,
                "proof": json.dumps([b64(p) for p in judgement.proof]),
                "at": txn.now,
            },
            "peer",
            "size",
        )
    elif isinstance(judgement, t.Equivocated):
        ev = judgement.evidence
        fresh = insert_ignore(
            conn,
            evidence,
            {
                "digest": judgement.digest,
                "signer": ev.signer,
                "kind": ev.kind,
                "older": ev.older,
                "newer": ev.newer,
                "proof": json.dumps([b64(p) for p in ev.proof]),
                "reason": ev.reason,
                "at": txn.now,
            },
            "digest",
        )
        return t.Equivocated(ev, judgement.digest, fresh)
    return judgement


def save_cosignature(conn: Connection, counters: dict[str, int], txn: t.SaveCosignature) -> str | None:
    from detente.core.checkpoint import parse_note

    own = conn.execute(select(own_checkpoints.c.note).where(own_checkpoints.c.size == txn.size)).first()
    problem = txn.decide(parse_note(bytes(own.note)).text if own is not None else None)
    if problem is None:
        insert_ignore(
            conn,
            cosignatures,
            {"peer": txn.peer, "size": txn.size, "line": txn.line, "at": txn.now},
            "peer",
            "size",
        )
    return problem


def save_own_checkpoint(conn: Connection, counters: dict[str, int], txn: t.SaveOwnCheckpoint) -> None:
    insert_ignore(conn, own_checkpoints, {"size": txn.size, "note": txn.note, "at": txn.now}, "size")


def save_proofs(conn: Connection, counters: dict[str, int], txn: t.SaveProofs) -> None:
    for r in txn.rows:
        insert_ignore(
            conn,
            peer_proofs,
            {
                "entry_hash": r.entry_hash,
                "party": r.party,
                "idx": r.index,
                "size": r.size,
                "path": json.dumps(list(r.path)),
                "at": r.at,
            },
            "entry_hash",
        )


def save_event(conn: Connection, counters: dict[str, int], txn: t.SaveEvent) -> None:
    conn.execute(
        events.insert().values(at=txn.at, kind=txn.kind, peer=txn.peer, ref=txn.ref, detail=txn.detail)
    )


WRITES: dict[type[Any], Callable[[Connection, dict[str, int], Any], Any]] = {
    t.AcceptEntry: accept_entry,
    t.RecordReceipt: record_receipt,
    t.MarkSent: mark_sent,
    t.SaveKeyEvents: save_keyevents,
    t.JudgeCheckpoint: judge_checkpoint,
    t.SaveCosignature: save_cosignature,
    t.SaveOwnCheckpoint: save_own_checkpoint,
    t.SaveProofs: save_proofs,
    t.SaveEvent: save_event,
}


# -- reads ---------------------------------------------------------------------------------------------


def pending_proofs(conn: Connection, q: t.PendingProofs) -> dict[str, str]:
    proven = select(peer_proofs.c.entry_hash).where(peer_proofs.c.party == q.peer)
    rows = conn.execute(
        select(entries.c.hash, entries.c.id)
        .where(
            entries.c.author == q.peer,
            entries.c.mine.is_(False),
            entries.c.held_since <= q.since,
            entries.c.hash.not_in(proven),
        )
        .order_by(entries.c.held_since, entries.c.hash)
        .limit(q.limit + len(q.skip))
    )
    out: dict[str, str] = {}
    for h, entry_id in rows:
        if h not in q.skip and len(out) < q.limit:
            out[h] = entry_id or h
    return out


def prove_lookup(conn: Connection, q: t.ProveLookup) -> dict[str, int] | None:
    signed = conn.execute(select(own_checkpoints.c.size).where(own_checkpoints.c.size == q.size)).first()
    if signed is None:
        return None
    return {
        r.entry_hash: r.idx
        for r in conn.execute(select(log.c.entry_hash, log.c.idx).where(log.c.entry_hash.in_(q.hashes)))
    }


def witnessed_note(conn: Connection, q: t.WitnessedNote) -> bytes | None:
    row = conn.execute(
        select(witnessed.c.note).where(witnessed.c.peer == q.peer, witnessed.c.size == q.size)
    ).first()
    return bytes(row.note) if row is not None else None


def log_since(conn: Connection, q: t.LogSince) -> list[str]:
    return [
        h for (h,) in conn.execute(select(log.c.entry_hash).where(log.c.idx >= q.start).order_by(log.c.idx))
    ]


READS: dict[type[Any], Callable[[Connection, Any], Any]] = {
    t.PendingProofs: pending_proofs,
    t.ProveLookup: prove_lookup,
    t.WitnessedNote: witnessed_note,
    t.LogSince: log_since,
}


# -- start-up ------------------------------------------------------------------------------------------


def load_session(conn: Connection, party: str) -> Restored:
    """What a peer session needs after a (re)start."""
    rows = conn.execute(
        select(deliveries.c.seq, deliveries.c.precedence, entries.c.kind, entries.c.body, entries.c.sig)
        .join(entries, entries.c.id == deliveries.c.entry_id)
        .where(deliveries.c.peer == party, deliveries.c.state != "receipted")
    ).all()
    held = tuple(r.seq for r in conn.execute(select(inbound.c.seq).where(inbound.c.peer == party)))
    keyevents = tuple(
        (r.idx, Signed("keyevent", bytes(r.body), bytes(r.sig)))
        for r in conn.execute(
            select(peer_keyevents.c.idx, peer_keyevents.c.body, peer_keyevents.c.sig)
            .where(peer_keyevents.c.peer == party)
            .order_by(peer_keyevents.c.idx)
        )
    )
    c = conn.execute(
        select(cosignatures.c.size, cosignatures.c.at)
        .where(cosignatures.c.peer == party)
        .order_by(desc(cosignatures.c.size))
        .limit(1)
    ).first()
    w = conn.execute(
        select(witnessed.c.size, witnessed.c.at)
        .where(witnessed.c.peer == party)
        .order_by(desc(witnessed.c.size))
        .limit(1)
    ).first()
    return Restored(
        unreceipted=tuple((r.seq, r.precedence, Signed(r.kind, bytes(r.body), bytes(r.sig))) for r in rows),
        held_seqs=held,
        keyevents=keyevents,
        cosigned=(c.size, c.at) if c is not None else None,
        witnessed=(w.size, w.at) if w is not None else None,
    )


def load_own(
    conn: Connection, own_party: str
) -> tuple[list[str], tuple[int, bytes] | None, list[tuple[int, Signed]]]:
    """Our log's hashes, our latest checkpoint (size, note) and our own key events."""
    hashes = log_since(conn, t.LogSince(0))
    row = conn.execute(
        select(own_checkpoints.c.size, own_checkpoints.c.note).order_by(desc(own_checkpoints.c.size)).limit(1)
    ).first()
    keyevents = [
        (r.idx, Signed("keyevent", bytes(r.body), bytes(r.sig)))
        for r in conn.execute(
            select(log.c.idx, entries.c.body, entries.c.sig)
            .join(entries, entries.c.hash == log.c.entry_hash)
            .where(entries.c.kind == "keyevent", entries.c.author == own_party)
            .order_by(log.c.idx)
        )
    ]
    return hashes, ((row.size, bytes(row.note)) if row is not None else None), keyevents


def open_deadlines(conn: Connection, party: str) -> list[tuple[str, str, float]]:
    """Acknowledgement deadlines still open, one per (message, who owes the answer): each
    recipient of what we sent that has not answered, and us for what we hold unanswered."""
    ack = entries.alias("ack")
    out: list[tuple[str, str, float]] = []
    unanswered = ~(
        select(ack.c.hash)
        .where(ack.c.kind == "ack", ack.c.ref == deliveries.c.entry_id, ack.c.author == deliveries.c.peer)
        .exists()
    )
    for row in conn.execute(
        select(entries.c.id, deliveries.c.peer, entries.c.ack_due)
        .join(deliveries, deliveries.c.entry_id == entries.c.id)
        .where(entries.c.kind == "message", entries.c.mine, entries.c.ack_due.is_not(None), unanswered)
    ):
        out.append((row.id, row.peer, row.ack_due))
    ours = select(ack.c.hash).where(ack.c.kind == "ack", ack.c.ref == entries.c.id, ack.c.author == party)
    for held in conn.execute(
        select(entries.c.id, entries.c.ack_due).where(
            entries.c.kind == "message",
            ~entries.c.mine,
            entries.c.ack_due.is_not(None),
            ~ours.exists(),
        )
    ):
        out.append((held.id, party, held.ack_due))
    return out


KEY_SECONDS = 24 * 3600
"""How long an idempotency key is kept: a retry within this time finds the first answer."""
KEYS_HELD = 100_000
"""At most this many keyed entries (one per message, a batch's count each) within KEY_SECONDS."""


@dataclass(frozen=True)
class Keyed:
    """An idempotency key as a send carries it: whose (``scope``), the key, the message's place
    in its batch (``item``; 0 for a single send) and the SHA-256 of the whole request."""

    scope: str
    key: str
    item: int
    request: str


@dataclass(frozen=True)
class Replayed:
    """A keyed send already stored: the entry made the first time, not made again."""

    signed: Signed
    entry_id: str


class KeyReused(ValueError):
    """An idempotency key that came before with a different request."""


class KeysExhausted(ValueError):
    """KEYS_HELD keys were used within KEY_SECONDS: no new one can be kept for its full day."""


def _keyed_before(conn: Connection, counters: dict[str, int], keyed: Keyed, now: float) -> Replayed | None:
    """What ``keyed`` made before (None: nothing yet), read in the writer's transaction that
    would make its entry, so two retries racing each other cannot both sign."""
    other = conn.execute(
        select(idempotency.c.item)
        .where(
            idempotency.c.scope == keyed.scope,
            idempotency.c.key == keyed.key,
            idempotency.c.request != keyed.request,
        )
        .limit(1)
    ).first()
    if other is not None:
        raise KeyReused(
            f"Idempotency key {keyed.key} was used before with a different request: nothing was "
            "sent; use a new key for a new message."
        )
    row = conn.execute(
        select(entries.c.kind, entries.c.body, entries.c.sig, entries.c.id)
        .join(idempotency, idempotency.c.entry_id == entries.c.id)
        .where(
            idempotency.c.scope == keyed.scope,
            idempotency.c.key == keyed.key,
            idempotency.c.item == keyed.item,
        )
    ).first()
    if row is not None:
        return Replayed(Signed(row.kind, bytes(row.body), bytes(row.sig)), row.id)
    pruned = conn.execute(delete(idempotency).where(idempotency.c.at < now - KEY_SECONDS)).rowcount
    if "keys" not in counters:  # counted once per writer; the store restores it on rollback
        counters["keys"] = conn.execute(select(func.count()).select_from(idempotency)).scalar_one()
    else:
        counters["keys"] -= max(pruned, 0)
    if counters["keys"] >= KEYS_HELD:
        raise KeysExhausted(
            f"The node already keeps {KEYS_HELD} idempotency keys from the last 24 hours: nothing "
            "was sent; send without a key, or later."
        )
    return None


def create_entry(
    conn: Connection,
    counters: dict[str, int],
    party: str,
    recipients: list[str],
    build: Callable[[str, dict[str, int]], tuple[Signed, Any]],
    precedence: str,
    now: float,
    ref: str | None,
    ack_due: float | None,
    guard: tuple[str, Callable[[bytes | None], None]] | None = None,
    then: Callable[[Connection, str], object] | None = None,
    keyed: Keyed | None = None,
) -> tuple[Signed, Any] | Replayed:
    """Number, sign and durably queue one of our stream entries (``build`` signs it).

    ``guard``: (message id, check): the check is given our earlier answer to that message (its
    body, or None) and may raise to refuse, before anything is numbered or signed.
    ``then``: given the new entry's id once it is stored, in the same transaction (a draft is
    marked released as this message); by raising it undoes the entry, and the store restores
    the numbers handed out.
    ``keyed``: the send's idempotency key: if it made an entry before, that entry is returned
    (``Replayed``) and nothing is numbered or signed; made with another request, ``KeyReused``.
    """
    if keyed is not None:
        before = _keyed_before(conn, counters, keyed, now)
        if before is not None:
            return before
    if guard is not None:
        msg_id, check = guard
        prior = conn.execute(
            select(entries.c.body)
            .where(entries.c.kind == "ack", entries.c.mine, entries.c.ref == msg_id)
            .order_by(entries.c.held_since)
        ).first()
        check(bytes(prior.body) if prior is not None else None)
    counters["n"] += 1
    seqs = {}
    for peer in recipients:
        counters[f"seq:{peer}"] += 1
        seqs[peer] = counters[f"seq:{peer}"]
    signed, entry = build(f"{party}/{counters['n']}", seqs)
    conn.execute(
        INSERT_ENTRY,
        _entry_row(
            signed,
            entry_id=entry.id,
            author=party,
            mine=True,
            precedence=precedence,
            ref=ref,
            created=entry.created,
            ack_due=ack_due,
            held_since=now,
        ),
    )
    conn.execute(
        INSERT_DELIVERIES,
        [
            {"entry_id": entry.id, "peer": p, "seq": s, "precedence": precedence, "state": "queued"}
            for p, s in seqs.items()
        ],
    )
    append_log(conn, counters, signed.hash)
    if keyed is not None:
        conn.execute(
            idempotency.insert(),
            {
                "scope": keyed.scope,
                "key": keyed.key,
                "item": keyed.item,
                "request": keyed.request,
                "entry_id": entry.id,
                "at": now,
            },
        )
        counters["keys"] += 1
    if then is not None:
        then(conn, entry.id)
    return signed, entry


def append_release(
    conn: Connection,
    counters: dict[str, int],
    party: str,
    signed: Signed,
    msg_id: str,
    created: str,
    now: float,
) -> int:
    """Append our signed release of message ``msg_id`` to our log (in the transaction that signs
    the message); returns its log index. Kept, never sent: it has no stream."""
    conn.execute(
        INSERT_ENTRY,
        _entry_row(
            signed,
            entry_id=None,
            author=party,
            mine=True,
            precedence=None,
            ref=msg_id,
            created=created,
            ack_due=None,
            held_since=now,
        ),
    )
    return append_log(conn, counters, signed.hash)


def message_hash(conn: Connection, entry_id: str) -> str:
    """The hash of our entry ``entry_id`` (stored in this transaction)."""
    return str(conn.execute(select(entries.c.hash).where(entries.c.id == entry_id)).scalar_one())


def append_keyevent(conn: Connection, party: str, signed: Signed, created: str, now: float) -> int:
    """Append one of our key events (a rotation or revocation) to our log; returns its index.

    For ``detente key`` on a stopped node: the index is the log's length read here, not the
    running node's counters, which are loaded afresh when the node starts.
    """
    idx = int(conn.execute(select(func.count()).select_from(log)).scalar_one())
    conn.execute(
        INSERT_ENTRY,
        _entry_row(
            signed,
            entry_id=None,
            author=party,
            mine=True,
            precedence=None,
            ref=None,
            created=created,
            ack_due=None,
            held_since=now,
        ),
    )
    conn.execute(INSERT_LOG, {"idx": idx, "entry_hash": signed.hash})
    return idx


def entry_row(conn: Connection, entry_id: str) -> Any:
    return conn.execute(select(entries).where(entries.c.id == entry_id)).first()


def pending_receipts(conn: Connection, entry_id: str) -> set[str] | None:
    """The recipients of our entry ``entry_id`` whose receipts are not held (None: no such entry)."""
    rows = conn.execute(
        select(deliveries.c.peer, deliveries.c.state).where(deliveries.c.entry_id == entry_id)
    ).all()
    if not rows:
        return None
    return {r.peer for r in rows if r.state != "receipted"}


def proof_counts(conn: Connection, peers: list[str]) -> dict[str, dict[str, int]]:
    """Per peer: entries received from it proven in its log, and those awaiting proof."""
    held: dict[str, int] = dict(
        conn.execute(
            select(entries.c.author, func.count()).where(entries.c.mine.is_(False)).group_by(entries.c.author)
        ).all()
    )
    proven: dict[str, int] = dict(
        conn.execute(select(peer_proofs.c.party, func.count()).group_by(peer_proofs.c.party)).all()
    )
    return {
        p: {"proven": proven.get(p, 0), "awaiting_proof": held.get(p, 0) - proven.get(p, 0)} for p in peers
    }


def read_proofs(conn: Connection) -> dict[str, tuple[str, int, int, list[bytes]]]:
    """Every stored proof: entry hash -> (party, index, checkpoint size, inclusion path)."""
    from detente.core.encoding import unb64
    from detente.core.merkle import HASH_SIZE

    return {
        r.entry_hash: (r.party, r.idx, r.size, [unb64(p, length=HASH_SIZE) for p in json.loads(r.path)])
        for r in conn.execute(select(peer_proofs))
    }
