"""Which database failures the leased writer rides through (reconnect, read the commit back, run
again) and which it reports at once: only a lost or read-only session is tried again."""

from __future__ import annotations

import psycopg.errors
import pytest
from sqlalchemy.exc import IntegrityError, InternalError, OperationalError

from detente.store.lease import lost_connection


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("connect", {}, psycopg.OperationalError("connection refused")),
        OperationalError("COMMIT", {}, psycopg.errors.AdminShutdown("terminating connection")),
        OperationalError("COMMIT", {}, psycopg.errors.ConnectionFailure("connection failure")),
        InternalError("INSERT", {}, psycopg.errors.ReadOnlySqlTransaction("read-only")),
    ],
    ids=["no-server", "admin-shutdown", "connection-failure", "standby-read-only"],
)
def test_a_lost_or_read_only_session_is_tried_again(error: Exception):
    assert lost_connection(error)


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("INSERT", {}, psycopg.errors.DiskFull("could not extend file")),
        IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate key")),
        ValueError("a node rule refused the write"),
    ],
    ids=["disk-full", "unique-violation", "rule"],
)
def test_a_refused_statement_is_reported_not_tried_again(error: Exception):
    assert not lost_connection(error)
