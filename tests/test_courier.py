"""The courier path: signed entries and receipts carried as a file when no link path works.

Real nodes over loopback TLS. RU-MOD reaches US-EUCOM only through a relay the test holds cut,
so every link is down while the files travel; then the relay is mended and the link returns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detente import config as cfgmod
from detente.core.bundle import verify_bundle
from detente.devtools.cluster import Cluster, LocalNode, free_port
from detente.node.courier import MAX_FRAMES, CourierError, _parse
from support import store_rows, wait_until
from test_export import cli
from test_integration import assert_exactly_once, keys_of
from test_paths import Relay

pytestmark = pytest.mark.integration


@pytest.fixture
def cut(tmp_path: Path) -> Iterator[tuple[Cluster, Relay]]:
    cluster = Cluster(tmp_path, [("US-EUCOM", "US European Command"), ("RU-MOD", "Russian MoD")])
    us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
    relay = Relay(free_port(), us.cfg.link_host_port)
    path = ru.home / "config.toml"
    path.write_text(path.read_text() + f'\n[paths]\nUS-EUCOM = ["127.0.0.1:{relay.port}"]\n')
    ru.cfg = cfgmod.load(ru.home)
    cluster.start()
    try:
        for node in cluster.nodes.values():
            cluster.wait_api(node)
        yield cluster, relay
    finally:
        relay.stop()
        cluster.stop()


def send(node: LocalNode, to: str, n: int) -> list[str]:
    return [
        node.api("POST", "/v1/messages", json={"to": [to], "precedence": "priority", "text": f"by hand {i}"})[
            "id"
        ]
        for i in range(n)
    ]


def courier(*args: str) -> dict[str, object]:
    done = cli("courier", *args, "--json")
    assert done.returncode == 0, done.stderr
    out: dict[str, object] = json.loads(done.stdout)
    return out


def receipted(node: LocalNode, ids: list[str]) -> int:
    id_list = ",".join(f"'{i}'" for i in ids)
    return int(
        store_rows(
            node, f"select count(*) from deliveries where entry_id in ({id_list}) and state='receipted'"
        )[0][0]
    )


def test_a_courier_round_trip_with_every_link_down_then_the_link_returns_without_duplicates(
    cut: tuple[Cluster, Relay], tmp_path: Path
):
    cluster, relay = cut
    us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
    keys = keys_of(cluster)
    assert us.status()["links"][0]["state"] == "down"
    to_ru, to_us = send(us, "RU-MOD", 5), send(ru, "US-EUCOM", 3)

    # US-EUCOM → RU-MOD by hand: its five messages.
    out1 = tmp_path / "us-to-ru.courier"
    assert courier("out", str(us.home), "--peer", "RU-MOD", str(out1))["frames"] == 5
    took = courier("in", str(ru.home), str(out1), "--reply", str(tmp_path / "ru-to-us.courier"))
    assert took["entries_held"] == 5 and took["refused"] == 0 and took["settled"] is True
    # RU-MOD → US-EUCOM: its three messages and its five receipts.
    took = courier(
        "in", str(us.home), str(tmp_path / "ru-to-us.courier"), "--reply", str(tmp_path / "back.courier")
    )
    assert took["entries_held"] == 3 and took["receipts_recorded"] == 5 and took["refused"] == 0
    assert receipted(us, to_ru) == 5
    # And back: US-EUCOM's receipts for RU-MOD's three (its five again are answered as held).
    took = courier("in", str(ru.home), str(tmp_path / "back.courier"))
    assert took["receipts_recorded"] == 3 and took["refused"] == 0
    assert receipted(ru, to_us) == 3
    # The same file twice records nothing twice.
    again = courier("in", str(ru.home), str(tmp_path / "back.courier"))
    assert again["receipts_recorded"] == 0 and again["receipts_already_held"] == 3

    assert us.status()["links"][0]["state"] == "down", "the files travelled with every link down"
    relay.start()
    cluster.wait_links()
    more_to_ru, more_to_us = send(us, "RU-MOD", 2), send(ru, "US-EUCOM", 2)
    assert_exactly_once(us, ru, to_ru + more_to_ru, keys)
    assert_exactly_once(ru, us, to_us + more_to_us, keys)
    for node in (us, ru):
        bundle = tmp_path / f"{node.party}.bundle"
        done = cli("export", str(node.home), "--out", str(bundle))
        assert done.returncode == 0, done.stderr
        verdict = verify_bundle(bundle.read_bytes())
        assert verdict.ok, verdict.report()


def test_a_courier_entry_altered_on_the_way_is_refused_and_nothing_of_it_is_stored(
    cut: tuple[Cluster, Relay], tmp_path: Path
):
    cluster, _ = cut
    us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
    send(us, "RU-MOD", 2)
    out = tmp_path / "f.courier"
    courier("out", str(us.home), "--peer", "RU-MOD", str(out))
    lines = out.read_text().splitlines()
    frame = json.loads(lines[1])
    frame["body"] = frame["body"].replace("by hand 0", "by hand X")
    lines[1] = json.dumps(frame)
    out.write_text("\n".join(lines) + "\n")
    took = courier("in", str(ru.home), str(out))
    assert took["refused"] == 1 and took["entries_held"] == 1
    assert store_rows(ru, "select count(*) from entries where kind='message'")[0][0] == 1
    # Refused as on the link: counted under its code, and recorded as an event.
    assert ru.status()["links"][0]["counters"].get("bad-signature") == 1
    assert wait_until(
        lambda: any(e["kind"] == "bad-signature" for e in ru.api("GET", "/v1/events")), timeout=10
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda h: {**h, "to": "UA-GS"}, "addressed to 'UA-GS'"),
        (lambda h: {**h, "from": "XX-NONE"}, "not a pinned peer"),
        (lambda h: {**h, "frames": 99}, "counts 99 frames"),
        (lambda h: {**h, "kind": "bundle"}, "not a courier file"),
    ],
)
def test_a_wrong_courier_file_is_refused_whole_with_its_reason(
    cut: tuple[Cluster, Relay], tmp_path: Path, change, reason
):
    cluster, _ = cut
    us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
    send(us, "RU-MOD", 1)
    out = tmp_path / "f.courier"
    courier("out", str(us.home), "--peer", "RU-MOD", str(out))
    lines = out.read_text().splitlines()
    lines[0] = json.dumps(change(json.loads(lines[0])))
    out.write_text("\n".join(lines) + "\n")
    done = cli("courier", "in", str(ru.home), str(out))
    assert done.returncode != 0 and reason in done.stderr
    assert store_rows(ru, "select count(*) from entries where kind='message'")[0][0] == 0


def test_entries_carried_one_way_are_receipted_back_by_the_link_when_it_returns(
    cut: tuple[Cluster, Relay], tmp_path: Path
):
    cluster, relay = cut
    us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
    keys = keys_of(cluster)
    to_ru = send(us, "RU-MOD", 4)
    out = tmp_path / "one-way.courier"
    courier("out", str(us.home), "--peer", "RU-MOD", str(out))
    assert courier("in", str(ru.home), str(out))["entries_held"] == 4
    assert receipted(us, to_ru) == 0, "no file came back"
    relay.start()
    # US-EUCOM resends what it has no receipt for; RU-MOD answers with the receipts it stored.
    assert_exactly_once(us, ru, to_ru, keys)
    assert store_rows(ru, "select count(*) from entries where kind='receipt' and mine")[0][0] == 4


def test_a_courier_file_larger_than_an_api_body_reaches_the_courier_checks(cut: tuple[Cluster, Relay]):
    # 17 MiB: over the API's general 16 MiB body bound, under the courier's own 64 MiB.
    ru = cut[0]["RU-MOD"]
    header = json.dumps(HEADER).encode()
    r = ru.client.post("/v1/courier", content=header + b"\n" + b"x" * (17 << 20) + b"\n")
    assert r.status_code == 400
    assert "line 2 is longer than the node's max_frame" in r.json()["detail"]


# -- the file's parser, without a node ------------------------------------------------------------


class _Node:
    """What the parser reads of a node."""

    def __init__(self) -> None:
        self.party = "RU-MOD"
        self.peers = {"US-EUCOM": object()}
        self.cfg = type("Config", (), {"max_frame": 4096})()


def _file(header: dict[str, object], frames: list[object]) -> bytes:
    return ("\n".join(json.dumps(x) for x in [header, *frames]) + "\n").encode()


HEADER = {"kind": "detente-courier", "v": 1, "from": "US-EUCOM", "to": "RU-MOD", "made": "-", "frames": 1}


@given(st.binary(max_size=2000))
@settings(max_examples=300, deadline=None)
def test_any_bytes_are_a_courier_file_or_refused_with_a_reason(data: bytes):
    try:
        sender, frames = _parse(_Node(), data)  # type: ignore[arg-type]
    except CourierError as exc:
        assert str(exc)
    else:
        assert sender == "US-EUCOM" and all(f["t"] in ("entry", "receipt") for f in frames)


@given(st.sampled_from(["hb", "hello", "need", "checkpoint", None, 7]))
def test_a_courier_file_carries_only_entries_and_receipts(kind: object):
    with pytest.raises(CourierError, match="line 2 is not an entry or a receipt"):
        _parse(_Node(), _file(HEADER, [{"t": kind}]))  # type: ignore[arg-type]


def test_a_line_longer_than_max_frame_is_refused_before_it_is_parsed():
    with pytest.raises(CourierError, match="line 2 is longer than"):
        _parse(_Node(), _file(HEADER, [{"t": "entry", "body": "x" * 5000}]))  # type: ignore[arg-type]


def test_more_frames_than_the_bound_are_refused_by_count():
    data = _file({**HEADER, "frames": MAX_FRAMES + 1}, [{"t": "receipt"}] * (MAX_FRAMES + 1))
    with pytest.raises(CourierError, match=f"at most {MAX_FRAMES}"):
        _parse(_Node(), data)  # type: ignore[arg-type]
