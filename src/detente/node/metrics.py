"""What the running node measures as it works: the histograms behind ``/metrics``.

Everything else the metrics endpoint shows is read from the node's state at scrape time (see
``detente.web.metrics``); only durations must be observed as they happen. Each node has its own
registry (several nodes may share a process in tests), and the store and the driver reach it
through two small hooks: ``Store.on_commit`` and ``NodeMetrics.queued``/``receipted``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, disable_created_metrics

# A ``…_created`` series per histogram says when the process made it: the start time is
# already ``detente_node_start_time_seconds``, and the extra series only doubles the output.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Seconds. A receipt over loopback comes back in milliseconds; over a satellite link with
# retries it may take a minute; past that the queue-depth and overdue figures tell the story.
RECEIPT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
# Entries queued but not yet receipted whose start time is kept: bounded, so a peer that never
# answers cannot make the node keep an ever-growing table (the oldest are dropped first).
TRACKED = 100_000


class NodeMetrics:
    """The node's histograms and the queue times they need."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.receipt_latency = Histogram(
            "detente_receipt_latency_seconds",
            "Time from queueing one of our entries to storing the peer's receipt for it.",
            ["peer", "precedence"],
            buckets=RECEIPT_BUCKETS,
            registry=self.registry,
        )
        self.commit_latency = Histogram(
            "detente_store_commit_seconds",
            "Time the store's writer took to run and commit one batch of writes.",
            buckets=COMMIT_BUCKETS,
            registry=self.registry,
        )
        self._queued: dict[tuple[str, str], tuple[float, str]] = {}

    def queued(self, peer: str, entry_id: str, precedence: str, now: float) -> None:
        """One of our entries was durably queued for ``peer``."""
        if len(self._queued) >= TRACKED:
            del self._queued[next(iter(self._queued))]
        self._queued[(peer, entry_id)] = (now, precedence)

    def receipted(self, peer: str, entry_id: str, now: float) -> None:
        """``peer``'s receipt for ``entry_id`` is stored (entries queued before a restart are not
        timed: their start was not kept)."""
        started = self._queued.pop((peer, entry_id), None)
        if started is not None:
            self.receipt_latency.labels(peer, started[1]).observe(max(0.0, now - started[0]))

    def committed(self, seconds: float) -> None:
        """The store's writer committed a batch (called from the writer's thread)."""
        self.commit_latency.observe(seconds)
