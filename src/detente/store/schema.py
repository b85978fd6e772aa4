"""The store's tables: entries as exact bytes, deliveries, inbound streams, the log, events,
witnessing, idempotency keys, and the console's accounts, sessions, preferences and drafts."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# Every entry this node holds, its own and its peers', exactly as signed.
entries = Table(
    "entries",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("id", String(64), nullable=True, unique=True),  # stream entries have an id
    Column("kind", String(16), nullable=False),
    Column("author", String(32), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("sig", LargeBinary, nullable=False),
    Column("mine", Boolean, nullable=False),
    Column("precedence", String(16), nullable=True),
    Column("ref", String(64), nullable=True),  # message: in reply to; ack/receipt: the entry
    Column("created", String(32), nullable=False),
    Column("ack_due", Float, nullable=True),  # epoch seconds, for overdue queries
    Column("held_since", Float, nullable=False),  # when this node stored it
)
Index("entries_kind_author", entries.c.kind, entries.c.author)
Index("entries_ref", entries.c.ref)

# What is wrong with an entry held exactly as signed (core.protocol.txns.Mark): ``invalid``
# (a format field that breaks its rule) or ``clock-skew`` (dated far from our clock), with the
# field and the reason. Written in the commit that stores the entry; the entry is never changed.
entry_marks = Table(
    "entry_marks",
    metadata,
    Column("entry_hash", String(64), primary_key=True),
    Column("mark", String(16), primary_key=True),
    Column("field", String(200), nullable=False),
    Column("reason", Text, nullable=False),
)

# One row per (outgoing stream entry, recipient): the sender's view of delivery.
deliveries = Table(
    "deliveries",
    metadata,
    Column("entry_id", String(64), nullable=False),
    Column("peer", String(32), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("precedence", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # queued | sent | receipted
    Column("first_sent", Float, nullable=True),
    Column("receipted", Float, nullable=True),
    Column("receipt_hash", String(64), nullable=True),
    UniqueConstraint("peer", "seq", name="deliveries_stream"),
    UniqueConstraint("entry_id", "peer", name="deliveries_entry_peer"),
)
Index("deliveries_open", deliveries.c.peer, deliveries.c.state)

# One row per received stream entry: the durable duplicate filter of each inbound stream.
inbound = Table(
    "inbound",
    metadata,
    Column("peer", String(32), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("entry_hash", String(64), nullable=False),
    Column("receipt_hash", String(64), nullable=False),
)

# The party's own append-only log: every entry it signs, in order.
log = Table(
    "log",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("entry_hash", String(64), nullable=False, unique=True),
)

# Security events and alarms: refused connections, bad frames, overdue messages, lost links.
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("peer", String(64), nullable=True),
    Column("ref", String(64), nullable=True),
    Column("detail", Text, nullable=False),
)
Index("events_kind", events.c.kind)

# Witnessing (detente.node.witnessing). This party's own signed checkpoints, exact note bytes.
own_checkpoints = Table(
    "own_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("note", LargeBinary, nullable=False),
    Column("at", Float, nullable=False),
)

# Cosignatures peers returned on this party's checkpoints: the peer's signature line, exactly.
cosignatures = Table(
    "cosignatures",
    metadata,
    Column("peer", String(32), primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("line", LargeBinary, nullable=False),
    Column("at", Float, nullable=False),
)

# Peers' checkpoints this party accepted (and cosigned), each with the consistency proof from
# the one accepted before it (JSON list of base64). The row of greatest size is the witness's
# state: a new checkpoint from that peer must be consistent with it.
witnessed = Table(
    "witnessed",
    metadata,
    Column("peer", String(32), primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("note", LargeBinary, nullable=False),
    Column("proof", Text, nullable=False),
    Column("at", Float, nullable=False),
)

# Proofs that peers' entries this party holds are in the peer's log (detente.node.inclusion): the
# entry's index and its RFC 9162 inclusion path (JSON list of base64) in the peer's checkpoint
# of ``size``, one this party witnessed (a row of ``witnessed``), checked before it was stored.
peer_proofs = Table(
    "peer_proofs",
    metadata,
    Column("entry_hash", String(64), primary_key=True),
    Column("party", String(32), nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("path", Text, nullable=False),
    Column("at", Float, nullable=False),
)
Index("peer_proofs_party", peer_proofs.c.party)

# Equivocation evidence against a peer: both signed notes and the proof, exactly as received.
evidence = Table(
    "evidence",
    metadata,
    Column("digest", String(64), primary_key=True),  # SHA-256 over kind, older, newer, proof
    Column("signer", String(300), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("older", LargeBinary, nullable=False),
    Column("newer", LargeBinary, nullable=False),
    Column("proof", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", Float, nullable=False),
)

# Peers' key events (detente.node.peerkeys): rotations and revocations a peer announced in its
# hello, accepted because they chain from its pinned key; exact bytes, in the peer's log order.
# ``proof`` is the inclusion proof (JSON list of base64) of the entry at ``idx`` in the peer's
# checkpoint of size ``proof_size``: the latest one this party witnessed, so an export can
# place the event in the peer's log (null until a witnessed checkpoint covers it).
peer_keyevents = Table(
    "peer_keyevents",
    metadata,
    Column("peer", String(32), primary_key=True),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("sig", LargeBinary, nullable=False),
    Column("at", Float, nullable=False),
    Column("proof_size", BigInteger, nullable=True),
    Column("proof", Text, nullable=True),
)

# Restores of this store from a backup (``detente restore``). While the newest one is not
# reconciled, the node numbers nothing: a backup older than the node's last sends lacks
# sequence numbers and log indexes its peers already hold (detente.node.restore).
restores = Table(
    "restores",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("source", Text, nullable=False),
    Column("log_size", BigInteger, nullable=False),
    Column("reconciled", Float, nullable=True),  # when every peer's hello showed nothing lost
    Column("outcome", Text, nullable=True),
)


# Idempotency keys of API sends (web.api): the first request made with a key stores its entry
# and a row here in the same transaction; a retry with the key finds the row, so the entry is
# never signed twice. ``scope`` is the SHA-256 of the client's credential, ``item`` the
# message's place in a batch (0 for a single send), ``request`` the SHA-256 of the request it
# was made with. Rows older than a day are dropped (store.txns.KEY_SECONDS, KEYS_HELD).
idempotency = Table(
    "idempotency",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("item", Integer, primary_key=True, autoincrement=False),
    Column("request", String(64), nullable=False),
    Column("entry_id", String(64), nullable=False),
    Column("at", Float, nullable=False),
)
Index("idempotency_at", idempotency.c.at)

# -- the console ----------------------------------------------------------------------------------------
# Passwords are stored only as Argon2id hashes; sessions only as the SHA-256 of their token, so
# a copy of the database does not let anyone sign in.

web_users = Table(
    "web_users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("lang", String(2), nullable=False),
    Column("failed", Integer, nullable=False),  # consecutive failed sign-ins
    Column("locked_until", Float, nullable=True),  # epoch seconds, node clock
    Column("created", Float, nullable=False),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created", Float, nullable=False),
    Column("expires", Float, nullable=False),
)
Index("web_sessions_user", web_sessions.c.user)

# Per-user display choices. ``borders``: draw country borders on the map (off by default:
# borders are a political statement, and the vendored data draws some of them contentiously).
web_prefs = Table(
    "web_prefs",
    metadata,
    Column("user", String(64), primary_key=True),
    Column("borders", Boolean, nullable=False, default=False),
)

# Drafts waiting for a second person's release. Nothing here is signed: the message is built
# and signed only when a different user with the releaser role releases it.
web_drafts = Table(
    "web_drafts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("author", String(64), nullable=False),  # the console user who drafted it
    Column("created", Float, nullable=False),
    Column("recipients", Text, nullable=False),  # JSON list
    Column("precedence", String(16), nullable=False),
    Column("content", Text, nullable=False),  # JSON: the content as it will be signed
    Column("ref", String(64), nullable=True),
    Column("reason", String(32), nullable=False),  # why it needs release: flash | format
    Column("state", String(16), nullable=False),  # waiting | released | withdrawn | returned
    Column("released_by", String(64), nullable=True),
    Column("released_at", Float, nullable=True),
    Column("message_id", String(64), nullable=True),  # the signed message, once released
    # A releasing officer gave it back unsigned, with a comment for its author (issue 10.8).
    Column("returned_by", String(64), nullable=True),
    Column("returned_at", Float, nullable=True),
    Column("return_comment", Text, nullable=True),
)
Index("web_drafts_state", web_drafts.c.state)

# Per-person API credentials: the SHA-256 of a 32-byte random token (the token itself is shown
# once, when it is made), the role it holds, and whether it was revoked (kept, for the record).
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created", Float, nullable=False),
    Column("last_used", Float, nullable=True),
    Column("revoked", Float, nullable=True),
)

# The writer's lease (high availability on PostgreSQL, store/lease.py): one row. ``epoch`` is the
# fencing token: every write transaction of the active node checks it, so a node that lost the
# lease can never commit again. ``expires`` is on the database's clock, the one clock both
# processes share. ``token`` names the last committed write batch, so a batch whose commit
# outcome a lost connection hid is resolved by reading it back.
writer_lease = Table(
    "writer_lease",
    metadata,
    Column("name", String(16), primary_key=True),
    Column("epoch", BigInteger, nullable=False),
    Column("holder", String(128), nullable=False),
    Column("expires", DateTime(timezone=True), nullable=False),
    Column("token", String(32), nullable=False),
)

CONSOLE_TABLES = (web_users, web_sessions, web_prefs, web_drafts, api_tokens)
