"""The writer's lease on a PostgreSQL store: one active node process per party and database.

High availability runs two node processes for one party on one database: the active one holds
the lease and writes, the passive one waits for the lease to expire and then takes it. The
lease is one row of ``writer_lease`` whose ``expires`` is on the database's clock (the only
clock both processes share) and whose ``epoch`` is a fencing token: every write transaction of
the active node first stamps the row ``WHERE epoch = <its epoch>``, so once another process has
taken the lease (and so raised the epoch) the old one can never commit a write again, however
long it was paused. The stamp takes the row's lock for the whole transaction, so a takeover
waits for a write in flight to end, and a paused writer's open transaction is ended by the
server (``idle_in_transaction_session_timeout``, set on the active node's sessions).

The stamp also writes a fresh random token: when a lost connection hides whether a commit
happened (the server or its standby was promoted mid-commit), the writer reconnects and reads
the token back. The token there means the batch committed; any other token means it did not,
and the batch is run again, whole, with the numbers it had handed out taken back.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, create_engine, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from detente.store.engine import StoreError
from detente.store.schema import writer_lease

NAME = "writer"
logger = logging.getLogger("detente.store.lease")


class Fenced(StoreError):
    """Another process holds the writer's lease: this one must never write again."""


class OutcomeUnknown(StoreError):
    """The store stayed unreachable, so whether the last write batch committed is not known."""


_STAMP = text(
    "UPDATE writer_lease SET token = :token WHERE name = :name AND epoch = :epoch RETURNING epoch"
).bindparams(bindparam("epoch"), bindparam("token"), bindparam("name"))
_TAKE = text(
    "UPDATE writer_lease SET epoch = epoch + 1, holder = :holder, token = '',"
    " expires = clock_timestamp() + make_interval(secs => :ttl)"
    " WHERE name = :name AND expires < clock_timestamp() RETURNING epoch"
)
_RENEW = text(
    "UPDATE writer_lease SET expires = clock_timestamp() + make_interval(secs => :ttl)"
    " WHERE name = :name AND epoch = :epoch RETURNING epoch"
)
_RELEASE = text(
    "UPDATE writer_lease SET expires = clock_timestamp() - interval '1 second'"
    " WHERE name = :name AND epoch = :epoch"
)


def lost_connection(exc: BaseException) -> bool:
    """Whether ``exc`` says the session to the database is gone or is not on a writable primary,
    rather than that a statement was refused (a full disk, a broken rule): only then may the
    writer reconnect and try again. Gone: no server answered (a failed connect, a broken
    socket), SQLSTATE class 08 (connection exception), the server shutting down or starting
    (57P01-57P03), or ending a transaction left idle (25P03); not writable: a standby not yet
    promoted (25006, read_only_sql_transaction)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    state = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if state is None:
        return isinstance(exc, OperationalError)
    return str(state).startswith("08") or state in _GONE


_GONE = frozenset({"57P01", "57P02", "57P03", "25P03", "25006"})


def _pg(url: str) -> str:
    if not url.startswith(("postgresql://", "postgresql+psycopg://")):
        raise StoreError("the writer's lease needs a PostgreSQL store (db = postgresql://…)")
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def session_options(ttl: float) -> dict[str, Any]:
    """Connection settings for the active node's sessions: give up on an unreachable host
    quickly (so libpq moves on to the next host of a multi-host URL), and let the server end a
    transaction left open longer than the lease lasts (a paused process's)."""
    return {
        "connect_timeout": 2,
        "options": f"-c idle_in_transaction_session_timeout={int(ttl * 1000)}",
    }


class Lease:
    """One process's claim on the writer's lease, and the fencing check of its writes."""

    def __init__(self, url: str, holder: str, ttl: float = 3.0, outage: float = 60.0) -> None:
        self.holder = holder[:128]
        self.ttl = ttl
        # How long the writer keeps reconnecting through a database failover before it stops.
        self.outage = outage
        self.epoch: int | None = None
        # A session of its own, opened per use: the lease must not wait behind the writer's pool.
        # Its renewal holds the lease row's lock until it commits: a process paused in the middle
        # must lose that lock after ttl like its writer's sessions, or the takeover waits forever.
        self.engine: Engine = create_engine(_pg(url), poolclass=NullPool, connect_args=session_options(ttl))
        with self.engine.begin() as conn:
            writer_lease.create(conn, checkfirst=True)

    lost = staticmethod(lost_connection)

    def acquire(self) -> bool:
        """Take the lease if it is free or has expired; True if this process now holds it."""
        try:
            with self.engine.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '1s'"))
                conn.execute(
                    postgresql.insert(writer_lease)
                    .values(name=NAME, epoch=0, holder="", token="", expires=text("'-infinity'"))
                    .on_conflict_do_nothing(index_elements=["name"])
                )
                row = conn.execute(_TAKE, {"holder": self.holder, "ttl": self.ttl, "name": NAME}).first()
        except SQLAlchemyError as exc:
            why = str(getattr(exc, "orig", exc)).splitlines()[0] if str(exc) else ""
            logger.info("the writer's lease could not be asked for: %s %s", exc.__class__.__name__, why)
            return False
        if row is None:
            return False
        self.epoch = int(row[0])
        return True

    def renew(self) -> None:
        """Extend the lease; raises ``Fenced`` if another process has taken it."""
        with self.engine.begin() as conn:
            row = conn.execute(_RENEW, {"ttl": self.ttl, "name": NAME, "epoch": self.epoch}).first()
        if row is None:
            raise Fenced(f"another process took the writer's lease (this one held epoch {self.epoch})")

    def release(self) -> None:
        """Let the passive process take over at once (a clean stop)."""
        if self.epoch is None:
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(_RELEASE, {"name": NAME, "epoch": self.epoch})
        except SQLAlchemyError:
            pass  # it expires by itself
        finally:
            self.engine.dispose()

    def stamp(self, conn: Connection, token: str) -> None:
        """Inside a write transaction: check this process still holds the lease, mark the
        transaction with ``token``, and hold the lease row's lock until it commits."""
        row = conn.execute(_STAMP, {"token": token, "name": NAME, "epoch": self.epoch}).first()
        if row is None:
            raise Fenced(f"another process took the writer's lease (this one held epoch {self.epoch})")

    def committed(self, token: str, deadline: float) -> bool:
        """After a lost connection during a commit: whether the batch stamped ``token`` is in the
        store, asked of whichever server is the read-write primary now (reconnecting until
        ``deadline``). A commit the old primary made but its synchronous standby never got was
        never acknowledged to the writer, and the new primary does not hold it: not committed.

        A batch found here is then covered by a later synchronous commit (the token stamped
        again): PostgreSQL answers it only once the standby holds the log up to it, so a batch
        the server committed locally while the writer's session was cut (the standby away) is
        acknowledged only when the standby holds it too, as any other commit is.
        """
        pause = 0.1
        while True:
            try:
                with self.engine.begin() as conn:
                    if conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one():
                        raise OperationalError("SELECT pg_is_in_recovery()", {}, Exception("a standby"))
                    row = conn.execute(
                        select(writer_lease.c.epoch, writer_lease.c.token)
                        .where(writer_lease.c.name == NAME)
                        .with_for_update()
                    ).one()
                    if int(row.epoch) != self.epoch:
                        raise Fenced(
                            f"another process took the writer's lease (this one held epoch {self.epoch})"
                        )
                    if str(row.token) != token:
                        return False
                    self.stamp(conn, token)
                return True
            except SQLAlchemyError as exc:
                if time.monotonic() + pause > deadline:
                    raise OutcomeUnknown(
                        "the store stayed unreachable: whether the last write committed is unknown"
                    ) from exc
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
