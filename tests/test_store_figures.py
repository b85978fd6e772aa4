"""The bench's figures, read from a node's SQLite store opened read-only."""

from __future__ import annotations

from pathlib import Path

from detente.store import Store, figures
from detente.store.schema import deliveries, entries


def message(entry_id: str, held_since: float) -> dict[str, object]:
    return {
        "hash": entry_id.replace("/", "-"),
        "id": entry_id,
        "kind": "message",
        "author": "US",
        "body": b"{}",
        "sig": b"",
        "mine": True,
        "precedence": "flash",
        "ref": None,
        "created": "2025-01-01T00:00:00Z",
        "ack_due": None,
        "held_since": held_since,
    }


def test_latencies_count_and_burst_span_come_from_the_senders_own_times(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    store.run(
        lambda c: (
            c.execute(
                entries.insert(), [message("US/1", 10.0), message("US/2", 20.0), message("US/3", 30.0)]
            ),
            c.execute(
                deliveries.insert(),
                [
                    {
                        "entry_id": "US/1",
                        "peer": "RU",
                        "seq": 1,
                        "precedence": "flash",
                        "state": "receipted",
                        "receipted": 10.5,
                    },
                    {
                        "entry_id": "US/2",
                        "peer": "RU",
                        "seq": 2,
                        "precedence": "flash",
                        "state": "receipted",
                        "receipted": 20.25,
                    },
                    {
                        "entry_id": "US/3",
                        "peer": "RU",
                        "seq": 3,
                        "precedence": "flash",
                        "state": "sent",
                        "receipted": None,
                    },
                ],
            ),
        )
    )
    store.engine.dispose()
    assert sorted(figures.receipt_latencies(url, "US/2")) == [(20.0, 20.25)]
    assert figures.receipted_count(url) == 2
    assert figures.burst_span(url, 15.0) == (20.0, 20.25)
