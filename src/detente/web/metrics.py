"""``GET /metrics``: the node in Prometheus's text format, behind the API's bearer token.

A custom collector reads the node's state at scrape time (links, queues, witnessing, the
store's counts of receipts, answers and alarms, the overdue list) rather than keeping gauges
up to date on every change; the histograms are the only figures observed as they happen
(``detente.node.metrics``). Every metric is listed, with its type and labels, in
docs/operators.md ("Metrics").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from detente.core.terms import PRECEDENCES
from detente.node import Node
from detente.store import Connection
from detente.store import queries as q

COUNTED_KINDS = ("message", "receipt", "ack", "translation", "linktest")


@dataclass(frozen=True)
class Scrape:
    """What one scrape shows: the node's memory and one read of its store, at one moment."""

    now: float
    entries: dict[tuple[str, str], int]
    events: dict[str, int]
    overdue: int


class NodeCollector(Collector):
    """The node's state as metric families (built anew for each scrape)."""

    def __init__(self, node: Node, scrape: Scrape) -> None:
        self.node = node
        self.scrape = scrape

    def collect(self) -> Iterator[Any]:
        node, s = self.node, self.scrape
        party = node.party
        info = GaugeMetricFamily(
            "detente_node_up", "1 while the node runs (the scrape answered).", labels=["party"]
        )
        info.add_metric([party], 1)
        yield info
        yield GaugeMetricFamily(
            "detente_node_start_time_seconds", "When the node started (Unix time).", value=node.started
        )

        link = GaugeMetricFamily(
            "detente_link_up", "1 if the link to the peer is open, else 0.", labels=["peer"]
        )
        heard = GaugeMetricFamily(
            "detente_heartbeat_age_seconds",
            "Seconds since the last frame from the peer (absent before the first one).",
            labels=["peer"],
        )
        queue = GaugeMetricFamily(
            "detente_queue_depth",
            "Our entries queued for the peer and not yet receipted, by precedence.",
            labels=["peer", "precedence"],
        )
        lag = GaugeMetricFamily(
            "detente_witness_lag_entries",
            "Entries of our latest checkpoint the peer has not cosigned yet.",
            labels=["peer"],
        )
        cosigned = GaugeMetricFamily(
            "detente_witness_cosigned_size", "Size of our log the peer last cosigned.", labels=["peer"]
        )
        offset = GaugeMetricFamily(
            "detente_peer_clock_offset_seconds",
            "The peer's clock minus ours, from its last hello or heartbeat (includes the one-way delay).",
            labels=["peer"],
        )
        written = GaugeMetricFamily(
            "detente_write_queue_bytes",
            "Bytes queued for writing to the peer now (frames past [limits] peer_write_buffer are dropped).",
            labels=["peer"],
        )
        refused = CounterMetricFamily(
            "detente_refused_frames",
            "Frames from the peer refused since start, by the code the peer was told.",
            labels=["peer", "code"],
        )
        for p, session in node.peers.items():
            link.add_metric([p], 1 if session.up else 0)
            last = session.sup.last_heard
            if last is not None:
                heard.add_metric([p], max(0.0, s.now - last))
            depth = dict.fromkeys(PRECEDENCES, 0)
            for pending in session.out.pending.values():
                depth[pending.precedence] = depth.get(pending.precedence, 0) + 1
            for precedence, n in depth.items():
                queue.add_metric([p, precedence], n)
            witnessed = session.wit.cosigned_size or 0
            cosigned.add_metric([p], witnessed)
            lag.add_metric([p], max(0, node.own.latest_size - witnessed))
            written.add_metric([p], node.driver.write_queue(session)["bytes"])
            if session.clock_offset is not None:
                offset.add_metric([p], session.clock_offset)
            for code, n in sorted(session.refused.items()):
                refused.add_metric([p, code], n)
        yield from (link, heard, offset, queue, written, lag, cosigned, refused)

        yield GaugeMetricFamily(
            "detente_log_size", "Entries in our own log (ledger held in memory).", value=node.own.ledger.size
        )
        yield GaugeMetricFamily(
            "detente_checkpoint_size", "Size of our latest signed checkpoint.", value=node.own.latest_size
        )
        free = node.free_space()
        if free is not None:
            yield GaugeMetricFamily(
                "detente_store_free_bytes",
                "Free bytes on the SQLite store's filesystem (peers are refused below [limits]' watermark).",
                value=free,
            )
        yield GaugeMetricFamily(
            "detente_restore_hold",
            "1 while a store restored from a backup is not reconciled with the peers (nothing is sent).",
            value=1 if node.hold is not None else 0,
        )
        yield CounterMetricFamily(
            "detente_refused_connections", "Connections refused since start.", value=node.refused_total
        )

        held = CounterMetricFamily(
            "detente_entries",
            "Entries held in the store, by kind and by the party that signed them.",
            labels=["kind", "author"],
        )
        receipts = CounterMetricFamily(
            "detente_receipts", "Receipts held, by the party that signed them.", labels=["signer"]
        )
        answers = CounterMetricFamily(
            "detente_answers",
            "Answers (acknowledgements) held, by the party that gave them.",
            labels=["author"],
        )
        for (kind, author), n in sorted(s.entries.items()):
            held.add_metric([kind, author], n)
            if kind == "receipt":
                receipts.add_metric([author], n)
            elif kind == "ack":
                answers.add_metric([author], n)
        yield from (held, receipts, answers)

        yield GaugeMetricFamily(
            "detente_overdue_messages",
            "Messages past their acknowledgement deadline and not answered (as status lists them).",
            value=s.overdue,
        )
        alarms = CounterMetricFamily(
            "detente_alarms", "Alarms recorded in the store, by kind.", labels=["kind"]
        )
        for kind in q.ALARM_KINDS:
            alarms.add_metric([kind], s.events.get(kind, 0))
        yield alarms
        events = CounterMetricFamily(
            "detente_events", "Security events and alarms recorded in the store, by kind.", labels=["kind"]
        )
        for kind, n in sorted(s.events.items()):
            events.add_metric([kind], n)
        yield events


Overdue = Callable[[Node, Connection, float], list[str]]


async def scrape(node: Node, overdue: Overdue) -> bytes:
    """The node's metrics, in Prometheus's text format. ``overdue`` lists the messages the
    lifecycle table calls overdue (the API's own rule, handed in: one rule, no import back)."""
    now = node.clock.now()

    def go(c: Connection) -> Scrape:
        return Scrape(
            now=now,
            entries=q.entry_counts(c, COUNTED_KINDS),
            events=q.event_counts(c),
            overdue=len(overdue(node, c, now)),
        )

    snapshot = await node.store.read(go)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(node, snapshot))
    registry.register(_Histograms(node))
    return generate_latest(registry)


class _Histograms(Collector):
    def __init__(self, node: Node) -> None:
        self.node = node

    def collect(self) -> Iterator[Any]:
        yield from self.node.metrics.registry.collect()


def add_metrics_route(app: FastAPI, node: Node, deps: list[Any], overdue: Overdue) -> None:
    @app.get(
        "/metrics",
        dependencies=deps,
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}},
    )
    async def metrics() -> Response:
        """The node's metrics (Prometheus text format; same bearer token as the API)."""
        return Response(await scrape(node, overdue), media_type=CONTENT_TYPE_LATEST)
