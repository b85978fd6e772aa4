"""The Prometheus endpoint of a running node: scraped over HTTP, parsed with the client
library's own parser, and its figures follow the traffic."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from detente.devtools.cluster import Cluster, LocalNode
from support import wait_until

pytestmark = pytest.mark.integration


def scrape(node: LocalNode) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape: (name, sorted labels) -> value."""
    r = node.client.get("/metrics")
    r.raise_for_status()
    assert r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_need_the_api_bearer_token(two: Cluster):
    us = two["US-EUCOM"]
    r = httpx2.get(f"http://{us.cfg.api}/metrics", timeout=10)
    assert r.status_code == 401


def test_every_metric_exposed_is_documented_with_its_type(two: Cluster):
    r = two["US-EUCOM"].client.get("/metrics")
    families = {f.name: f.type for f in text_string_to_metric_families(r.text)}
    doc = (Path(__file__).parent.parent / "docs" / "operators.md").read_text()
    for name, kind in families.items():
        shown = f"{name}_total" if kind == "counter" else name
        assert f"| `{shown}` | {kind} |" in doc, f"{shown} ({kind}) is not in docs/operators.md's table"
    for expected in ("detente_link_up", "detente_queue_depth", "detente_heartbeat_age_seconds"):
        assert expected in families


def test_metrics_follow_traffic_links_queues_receipts_answers_and_latency(two: Cluster):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    before = scrape(us)
    assert value(before, "detente_link_up", peer="RU-MOD") == 1
    assert value(before, "detente_node_up", party="US-EUCOM") == 1
    for i in range(5):
        out = us.api(
            "POST", "/v1/messages?wait=20", json={"to": ["RU-MOD"], "precedence": "priority", "text": f"m{i}"}
        )
        assert out["receipted"], out
    ru.api("POST", f"/v1/messages/{out['id']}/ack", json={"answer": "understood", "by": "Col. Petrov"})
    assert wait_until(lambda: value(scrape(us), "detente_answers_total", author="RU-MOD") == 1)
    after = scrape(us)
    assert (
        value(after, "detente_receipts_total", signer="RU-MOD")
        == value(before, "detente_receipts_total", signer="RU-MOD") + 5
    )
    assert value(after, "detente_entries_total", kind="message", author="US-EUCOM") >= 5
    assert (
        value(after, "detente_receipt_latency_seconds_count", peer="RU-MOD", precedence="priority")
        == value(before, "detente_receipt_latency_seconds_count", peer="RU-MOD", precedence="priority") + 5
    )
    assert value(after, "detente_store_commit_seconds_count") > value(
        before, "detente_store_commit_seconds_count"
    )
    assert value(after, "detente_queue_depth", peer="RU-MOD", precedence="priority") == 0
    # The peer's view: it holds what we sent and gave one receipt each.
    theirs = scrape(ru)
    assert value(theirs, "detente_receipts_total", signer="RU-MOD") >= 5
    assert value(theirs, "detente_answers_total", author="RU-MOD") == 1
    # Our log grows, the peer cosigns it and the witness lag closes.
    assert wait_until(
        lambda: (
            (s := scrape(us))
            and value(s, "detente_checkpoint_size") > 0
            and value(s, "detente_witness_lag_entries", peer="RU-MOD") == 0
            and value(s, "detente_witness_cosigned_size", peer="RU-MOD")
            == value(s, "detente_checkpoint_size")
        )
    )


def test_a_stopped_peer_shows_as_a_down_link_a_growing_queue_and_an_alarm(two: Cluster):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    ru.stop()
    assert wait_until(lambda: value(scrape(us), "detente_link_up", peer="RU-MOD") == 0)
    us.flash({"to": ["RU-MOD"], "precedence": "flash", "text": "anyone?"})  # drafted, then released
    assert wait_until(lambda: value(scrape(us), "detente_alarms_total", kind="link-lost") >= 1)
    samples = scrape(us)
    assert value(samples, "detente_queue_depth", peer="RU-MOD", precedence="flash") == 1
    assert value(samples, "detente_heartbeat_age_seconds", peer="RU-MOD") > 0


def test_the_grafana_dashboard_uses_only_documented_metrics():
    import json
    import re

    docs = Path(__file__).parent.parent / "docs"
    dashboard = json.loads((docs / "grafana-detente.json").read_text())
    table = (docs / "operators.md").read_text()
    used = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"detente_[a-z_]+", target["expr"])
    }
    assert used
    assert sorted(n for n in used if f"| `{n}` |" not in table) == []
