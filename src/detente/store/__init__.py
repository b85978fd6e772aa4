"""The store: one database (SQLite or PostgreSQL), one writer task that commits in batches.

The only package that writes SQL: callers hand its functions the ``Connection`` a read or a
write gives them, and name that type from here rather than from the SQL toolkit.
"""

from sqlalchemy import Connection

from detente.store.db import Store, StoreError, StoreFull, run_once

__all__ = ["Connection", "Store", "StoreError", "StoreFull", "run_once"]
