"""Helpers shared by the tests that run real nodes."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from detente.devtools.cluster import LocalNode

THREE = [("US-EUCOM", "US European Command"), ("RU-MOD", "Russian MoD"), ("UA-GS", "Ukrainian GS")]
TWO = THREE[:2]


def wait_until(predicate: Callable[[], object], timeout: float = 30, step: float = 0.1) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def store_rows(node: LocalNode, sql: str) -> list[tuple]:
    """Read a node's SQLite store directly, read-only: the durable truth, not the API."""
    path = node.cfg.db.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()
