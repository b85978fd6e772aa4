"""Several link paths to one peer: failover to a backup address and back to the primary.

Real nodes over loopback TLS. RU-MOD dials US-EUCOM (the pair's rule) at two addresses: a TCP
relay the test can cut (the primary: a cable) and US-EUCOM's own listener (the backup: a radio).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from detente import config as cfgmod
from detente.devtools.cluster import Cluster, LocalNode, free_port
from support import store_rows, wait_until
from test_console import _users, browser, context, sign_in, url  # noqa: F401 (browser: the fixture)
from test_integration import assert_exactly_once, burst, keys_of

pytestmark = pytest.mark.integration


class Relay:
    """A TCP relay on a loopback port that the test starts and stops: a cable that can be cut.
    Stopping it closes the listener and every connection through it."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port = port
        self.target = target
        self._listener: socket.socket | None = None
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            # shutdown wakes the thread blocked in accept (close alone leaves it listening).
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._socks:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._socks.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def paths(tmp_path: Path) -> Iterator[tuple[Cluster, Relay]]:
    cluster = Cluster(tmp_path, [("US-EUCOM", "US European Command"), ("RU-MOD", "Russian MoD")])
    us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
    relay = Relay(free_port(), us.cfg.link_host_port)
    path = ru.home / "config.toml"
    text = path.read_text().replace(
        "[supervision]  # seconds", "[supervision]  # seconds\npath_probe_every = 0.5"
    )
    path.write_text(text + f'\n[paths]\nUS-EUCOM = ["127.0.0.1:{relay.port}", "{us.cfg.link}"]\n')
    ru.cfg = cfgmod.load(ru.home)
    _users(ru, "uk")
    relay.start()
    cluster.start()
    try:
        cluster.wait_links()
        yield cluster, relay
    finally:
        relay.stop()
        cluster.stop()


def path_of(node: LocalNode) -> dict[str, object]:
    link = node.status()["links"][0]
    return dict(link["path"]) if link["state"] == "up" else {}


def test_the_link_uses_the_primary_address_when_it_answers(paths: tuple[Cluster, Relay]):
    cluster, relay = paths
    ru = cluster["RU-MOD"]
    path = path_of(ru)
    assert path["in_use"] == f"127.0.0.1:{relay.port}"
    assert path["primary"] is True
    assert path["addresses"] == [f"127.0.0.1:{relay.port}", cluster["US-EUCOM"].cfg.link]
    # The side that is dialled sees where the link comes from, not a choice of its own.
    assert cluster["US-EUCOM"].status()["links"][0]["path"]["accepted_from"].startswith("127.0.0.1:")


def test_primary_cut_mid_burst_moves_to_the_backup_and_back_with_nothing_lost_or_duplicated(
    paths: tuple[Cluster, Relay],
):
    cluster, relay = paths
    us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
    primary, backup = f"127.0.0.1:{relay.port}", us.cfg.link
    keys = keys_of(cluster)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        to_ru = pool.submit(burst, us, "RU-MOD", 200)
        to_us = pool.submit(burst, ru, "US-EUCOM", 200)
        # Cut while the burst is under way: some delivered on the primary, the rest not yet.
        assert wait_until(lambda: len(store_rows(ru, "select seq from inbound")) >= 20, timeout=60)
        relay.stop()  # the cable is cut
        assert wait_until(lambda: path_of(ru).get("in_use") == backup, timeout=30), ru.status()["links"]
        ids_to_ru, ids_to_us = to_ru.result(timeout=120), to_us.result(timeout=120)
    assert path_of(ru)["primary"] is False
    assert primary in ru.status()["links"][0]["path"]["errors"]
    # Sent while only the backup works.
    more = burst(us, "RU-MOD", 20)
    assert_exactly_once(us, ru, ids_to_ru + more, keys)
    assert_exactly_once(ru, us, ids_to_us, keys)

    relay.start()  # the cable is mended: the primary takes the link back by itself
    assert wait_until(lambda: path_of(ru).get("in_use") == primary, timeout=30), ru.status()["links"]
    assert path_of(ru)["switches"] >= 2
    last = burst(ru, "US-EUCOM", 20)
    assert_exactly_once(ru, us, ids_to_us + last, keys)
    assert_exactly_once(us, ru, ids_to_ru + more, keys)


def test_status_on_the_command_line_names_the_path_in_use(paths: tuple[Cluster, Relay]):
    cluster, relay = paths
    ru = cluster["RU-MOD"]
    run = [sys.executable, "-m", "detente", "status", str(ru.home)]
    text = subprocess.run(run, capture_output=True, text=True, check=True, timeout=60).stdout
    assert f"path 127.0.0.1:{relay.port} (primary of 2)" in text
    data = json.loads(
        subprocess.run([*run, "--json"], capture_output=True, text=True, check=True, timeout=60).stdout
    )
    assert data["links"][0]["path"]["in_use"] == f"127.0.0.1:{relay.port}"


def test_the_console_links_page_shows_the_path_in_use_and_a_backup_loudly(
    browser: Browser,  # noqa: F811 (the fixture from test_console)
    paths: tuple[Cluster, Relay],
):
    cluster, relay = paths
    ru = cluster["RU-MOD"]
    ctx = context(browser)
    page = ctx.new_page()
    sign_in(page, ru, "duty")  # a Ukrainian-speaking duty officer
    page.goto(url(ru, "/links"))
    cell = page.locator("tr[data-peer='US-EUCOM'] td.path")
    expect(cell).to_have_attribute("data-path", "primary")
    expect(cell).to_contain_text(f"127.0.0.1:{relay.port}")
    expect(cell).to_contain_text("основний")
    relay.stop()
    assert wait_until(lambda: path_of(ru).get("primary") is False, timeout=30)
    page.reload()
    expect(cell).to_have_attribute("data-path", "backup")
    expect(cell).to_contain_text("РЕЗЕРВНИЙ")
    expect(cell).to_contain_text(cluster["US-EUCOM"].cfg.link)
    ctx.close()


def test_doctor_says_the_link_runs_on_a_backup_and_which_primary_is_down(paths: tuple[Cluster, Relay]):
    cluster, relay = paths
    ru = cluster["RU-MOD"]
    relay.stop()
    assert wait_until(lambda: path_of(ru).get("primary") is False, timeout=30)
    done = subprocess.run(
        [sys.executable, "-m", "detente", "doctor", str(ru.home)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert f"TODO  path US-EUCOM: on the backup path {cluster['US-EUCOM'].cfg.link}" in done.stdout
    assert f"the primary 127.0.0.1:{relay.port} is down" in done.stdout


# -- configuration ------------------------------------------------------------------------------


def _home(tmp_path: Path, paths: str) -> Path:
    import datetime as dt

    home = tmp_path / "n"
    cfgmod.init_home(
        home, "US-EUCOM", "127.0.0.1:7400", "127.0.0.1:7401", None, None, dt.datetime.now(dt.UTC)
    )
    (home / "config.toml").write_text((home / "config.toml").read_text() + "\n" + paths)
    return home


def test_a_peer_without_configured_paths_is_dialled_at_its_cards_one_address(tmp_path: Path):
    assert cfgmod.load(_home(tmp_path, "")).paths == {}


def test_paths_take_one_address_or_a_list_primary_first(tmp_path: Path):
    cfg = cfgmod.load(
        _home(tmp_path, '[paths]\nRU-MOD = ["10.0.0.2:7400", "10.9.0.2:7400"]\nUA-GS = "10.0.0.3:7400"\n')
    )
    assert cfg.paths == {"RU-MOD": ["10.0.0.2:7400", "10.9.0.2:7400"], "UA-GS": ["10.0.0.3:7400"]}


@pytest.mark.parametrize(
    "bad",
    ["RU-MOD = []", 'RU-MOD = ["nowhere"]', 'RU-MOD = ["10.0.0.2:7400", "10.0.0.2:7400"]', "RU-MOD = 7400"],
)
def test_a_wrong_path_stops_the_node_at_start_with_the_reason(tmp_path: Path, bad: str):
    with pytest.raises(cfgmod.ConfigError, match=r"\[paths\]|HOST:PORT"):
        cfgmod.load(_home(tmp_path, f"[paths]\n{bad}\n"))


def test_a_primary_answered_by_another_certificate_is_refused_and_the_backup_carries_the_link(tmp_path: Path):
    # UA-GS's real node answers on RU-MOD's primary address for US-EUCOM: a wrong certificate
    # there is recorded as a refusal, and cannot keep the link off the backup.
    cluster = Cluster(
        tmp_path,
        [("US-EUCOM", "US European Command"), ("RU-MOD", "Russian MoD"), ("UA-GS", "General Staff")],
        pin=False,
    )
    us, ru, ua = cluster["US-EUCOM"], cluster["RU-MOD"], cluster["UA-GS"]
    cluster.pin(us, ru)
    cluster.pin(ru, us)
    path = ru.home / "config.toml"
    path.write_text(path.read_text() + f'\n[paths]\nUS-EUCOM = ["{ua.cfg.link}", "{us.cfg.link}"]\n')
    ru.cfg = cfgmod.load(ru.home)
    cluster.start()
    try:
        cluster.wait_links(nodes=[us, ru])
        assert path_of(ru)["in_use"] == us.cfg.link
        assert path_of(ru)["primary"] is False
        # RU-MOD may have dialled the primary before UA-GS listened ("cannot reach"): the next
        # probe of the primary (every path_probe_every, 30 s) meets UA-GS's certificate.
        assert wait_until(
            lambda: "not the pinned one" in ru.status()["links"][0]["path"]["errors"].get(ua.cfg.link, ""),
            timeout=45,
        )
        assert wait_until(
            lambda: any(e["kind"] == "refused" for e in ru.api("GET", "/v1/events")), timeout=10
        )
    finally:
        cluster.stop()
