"""Alembic's environment: migrate the connection ``detente.store.migrate`` hands over, or (for a
developer running ``alembic`` by hand) the database named by ``-x db=URL``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from detente.store.db import make_engine
from detente.store.schema import metadata


def _run(conn: Connection) -> None:
    # Batch mode: SQLite alters a table by copying it, which Alembic does only when asked.
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if isinstance(given, Connection):
    _run(given)
else:
    url = context.get_x_argument(as_dictionary=True).get("db") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("name the database: alembic -x db=URL …")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()
