"""The store: one database (SQLite or PostgreSQL), one writer task that commits in batches."""

from detente.store.db import Store, StoreError

__all__ = ["Store", "StoreError"]
