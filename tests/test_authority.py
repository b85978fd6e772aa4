"""Authority in the node (issue 12, points 6 and 7): per-person API credentials with roles, a
role check on every API route, the API's FLASH as a draft a different releaser releases, and
one personal-data rule applied to the API and the console, each disclosure recorded."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from detente import config as cfgmod
from detente.cli.main import main as cli_main
from detente.core import authority as may
from detente.core.formats.samples import sample
from detente.devtools.cluster import Cluster, LocalNode
from detente.node import Node
from detente.web import auth
from detente.web.api import create_app
from detente.web.guard import Guard
from detente.web.people import add_token, revoke_token
from support import THREE, TWO, store_rows, wait_until

PASSWORD = "correct horse battery"


class NodeLoop:
    """A started node on an event loop of its own, its API behind the guard as served."""

    def __init__(self, cfg: cfgmod.Config) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="node-loop", daemon=True)
        self.thread.start()
        self.node: Node = self.run(self._start(cfg))
        self.app = create_app(self.node)
        self.guard = Guard(self.app, self.app.state.credentials)

    async def _start(self, cfg: cfgmod.Config) -> Node:
        node = Node(cfg)
        await node.start()
        return node

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def close(self) -> None:
        self.run(self.node.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def on_loop(app: Any, loop: asyncio.AbstractEventLoop) -> Any:
    async def bridged(scope: dict[str, Any], receive: Any, send: Any) -> None:
        caller = asyncio.get_running_loop()

        async def recv() -> Any:
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(receive(), caller))

        async def snd(message: Any) -> None:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(send(message), caller))

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(app(scope, recv, snd), loop))

    return bridged


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeLoop]:
    cluster = Cluster(Path(tmp_path_factory.mktemp("authority")), TWO)  # pinned, not started
    n = NodeLoop(cluster["US-EUCOM"].cfg)
    try:
        yield n
    finally:
        n.close()


# One client per role: a person's token for each, and the node's own (admin node-admin).
CALLERS = ("operator", "releaser", "translator", "auditor", "admin", "node-token")


@pytest.fixture(scope="module")
def clients(running: NodeLoop) -> dict[str, TestClient]:
    cfg = running.node.cfg
    out = {}
    for who in CALLERS:
        token = (
            cfgmod.api_token(cfg)
            if who == "node-token"
            else add_token(cfg.home, cfg.db, f"p-{who}", who, 0.0)
        )
        c = TestClient(on_loop(running.guard, running.loop))
        c.headers["Authorization"] = f"Bearer {token}"
        out[who] = c
    return out


def role_of(who: str) -> str:
    return "admin" if who == "node-token" else who


TEXT = {"to": ["RU-MOD"], "precedence": "routine", "text": "x"}
ROUTES: list[tuple[str, str, Any, frozenset[str]]] = [
    ("GET", "/v1/status", None, may.EVERYONE),
    ("GET", "/v1/card", None, may.EVERYONE),
    ("GET", "/v1/formats", None, may.EVERYONE),
    ("GET", "/v1/mt", None, may.EVERYONE),
    ("GET", "/v1/messages", None, may.EVERYONE),
    ("GET", "/v1/messages?personal=1", None, may.PERSONAL_DATA),
    ("GET", "/v1/messages/RU-MOD/1?personal=1", None, may.PERSONAL_DATA),
    ("GET", "/v1/drafts", None, may.EVERYONE),
    ("POST", "/v1/messages", TEXT, may.SEND),
    ("POST", "/v1/messages/batch", [TEXT], may.SEND),
    ("POST", "/v1/messages/RU-MOD/999/ack", {"answer": "understood"}, may.ACK),
    ("POST", "/v1/messages/RU-MOD/999/translations", {"lang": "en", "text": "x"}, may.TRANSLATE),
    ("POST", "/v1/peers/RU-MOD/linktest", None, may.SEND),
    ("POST", "/v1/drafts/999999/release", None, may.RELEASE),
    ("GET", "/v1/events", None, may.AUDIT),
    ("GET", "/metrics", None, may.METRICS),
]


@pytest.mark.parametrize("who", CALLERS)
@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES]
)
def test_every_api_route_refuses_the_roles_it_is_not_for_with_one_sentence(
    clients: dict[str, TestClient], who: str, method: str, path: str, body: Any, allowed: frozenset[str]
) -> None:
    r = clients[who].request(method, path, json=body)
    role = role_of(who)
    if role in allowed:
        assert r.status_code not in (401, 403), r.text
    else:
        assert r.status_code == 403, r.text
        detail = r.json()["detail"]
        assert detail.startswith(f"the {role} role may not ") and "allowed: " in detail
        assert "\n" not in detail


def test_a_request_without_a_known_token_is_refused_on_every_route(running: NodeLoop) -> None:
    c = TestClient(on_loop(running.guard, running.loop))
    for method, path, body, _ in ROUTES:
        r = c.request(method, path, json=body, headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401, (path, r.text)


def test_tokens_are_added_listed_and_revoked_with_the_cli_and_only_a_hash_is_stored(
    running: NodeLoop,
) -> None:
    home = running.node.cfg.home
    runner = CliRunner()
    made = runner.invoke(cli_main, ["token", "add", str(home), "Maj. Lee", "--role", "auditor"])
    assert made.exit_code == 0, made.output
    token = made.output.splitlines()[0]
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    stored = store_rows(LocalNode("US-EUCOM", home, running.node.cfg), "SELECT token_hash FROM api_tokens")
    assert all(token not in h for (h,) in stored)  # the token itself is never stored
    listed = runner.invoke(cli_main, ["token", "list", str(home)])
    line = next(ln for ln in listed.output.splitlines() if ln.startswith("Maj. Lee"))
    assert "auditor" in line and line.rstrip().endswith("-")  # not revoked
    again = runner.invoke(cli_main, ["token", "add", str(home), "Maj. Lee", "--role", "admin"])
    assert again.exit_code != 0 and "exists already" in again.output
    reserved = runner.invoke(cli_main, ["token", "add", str(home), "node-admin", "--role", "admin"])
    assert reserved.exit_code != 0 and "node's own token" in reserved.output
    c = TestClient(on_loop(running.guard, running.loop))
    c.headers["Authorization"] = f"Bearer {token}"
    assert c.get("/v1/status").status_code == 200
    gone = runner.invoke(cli_main, ["token", "revoke", str(home), "Maj. Lee"])
    assert gone.exit_code == 0, gone.output
    listed = runner.invoke(cli_main, ["token", "list", str(home)])
    line = next(ln for ln in listed.output.splitlines() if ln.startswith("Maj. Lee"))
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s*$", line)  # revoked, with when
    assert c.get("/v1/status").status_code == 401  # refused from the next request
    twice = runner.invoke(cli_main, ["token", "revoke", str(home), "Maj. Lee"])
    assert twice.exit_code != 0 and "not revoked already" in twice.output


def test_a_revoked_token_is_refused_before_the_body_is_read(running: NodeLoop) -> None:
    cfg = running.node.cfg
    token = add_token(cfg.home, cfg.db, "to-revoke", "operator", 0.0)
    revoke_token(cfg.home, cfg.db, "to-revoke", 0.0)
    body_read: list[bool] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        body_read.append(True)
        return {"type": "http.request", "body": json.dumps(TEXT).encode(), "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/messages",
        "headers": [(b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/json")],
        "query_string": b"",
    }
    running.run(running.guard(scope, receive, send))
    assert sent[0]["status"] == 401
    assert body_read == []


def test_the_node_token_is_one_person_who_may_draft_a_flash_but_not_release_it(
    clients: dict[str, TestClient],
) -> None:
    r = clients["node-token"].post("/v1/messages", json={**TEXT, "precedence": "flash"})
    assert r.status_code == 202, r.text
    drafted = r.json()
    assert drafted["state"] == "waiting" and drafted["drafted_by"] == may.NODE_ADMIN
    refused = clients["node-token"].post(f"/v1/drafts/{drafted['draft']}/release")
    assert refused.status_code == 403  # the admin role is not a releaser
    # Its author withdraws it; nobody else may.
    assert clients["operator"].post(f"/v1/drafts/{drafted['draft']}/withdraw").status_code == 403
    done = clients["node-token"].post(f"/v1/drafts/{drafted['draft']}/withdraw")
    assert done.json() == {"draft": drafted["draft"], "state": "withdrawn"}


def test_an_api_flash_is_a_draft_signed_only_when_a_different_releaser_releases_it(two: Cluster) -> None:
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    officer, chief = us.person("Lt. Moss", "releaser"), us.person("Col. Hart", "releaser")
    r = officer.post("/v1/messages", json={"to": ["RU-MOD"], "precedence": "flash", "text": "Call now."})
    assert r.status_code == 202, r.text
    draft = r.json()["draft"]
    assert r.json() == {"draft": draft, "state": "waiting", "reason": "flash", "drafted_by": "Lt. Moss"}
    assert us.api("GET", "/v1/messages?box=out") == []  # nothing signed yet
    own = officer.post(f"/v1/drafts/{draft}/release")
    assert own.status_code == 409 and "a different person must release it" in own.json()["detail"]
    assert us.api("GET", "/v1/messages?box=out") == []
    released = chief.post(f"/v1/drafts/{draft}/release")
    assert released.status_code == 201, released.text
    msg_id = released.json()["id"]
    assert wait_until(
        lambda: us.api("GET", f"/v1/messages/{msg_id}")["state"] in ("receipted", "acknowledged")
    )
    held = ru.api("GET", f"/v1/messages/{msg_id}")
    assert held["precedence"] == "flash" and held["content"]["text"] == "Call now."
    shown = us.api("GET", f"/v1/drafts/{draft}")
    assert (shown["state"], shown["released_by"], shown["message_id"]) == ("released", "Col. Hart", msg_id)
    again = chief.post(f"/v1/drafts/{draft}/release")
    assert again.status_code == 409  # released once, never twice


@pytest.fixture
def ua_ru(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path, [THREE[1], THREE[2]])
    cluster.start()
    try:
        cluster.wait_links()
        yield cluster
    finally:
        cluster.stop()


def prisoner_list(ua: LocalNode) -> str:
    s = sample("prisoner-exchange-list")
    body = {
        "to": ["RU-MOD"],
        "precedence": "immediate",
        "format": s.format_id,
        "version": s.version,
        "lang": s.lang,
        "fields": s.fields,
    }
    out = ua.api("POST", "/v1/messages?wait=20", json=body)
    assert out["receipted"]
    return str(out["id"])


def personal_events(node: LocalNode) -> list[str]:
    return [e["detail"] for e in node.api("GET", "/v1/events") if e["kind"] == "personal-data"]


def test_personal_data_in_the_api_only_for_the_roles_the_rule_allows_and_each_disclosure_recorded(
    ua_ru: Cluster,
) -> None:
    ua, ru = ua_ru["UA-GS"], ua_ru["RU-MOD"]
    msg_id = prisoner_list(ua)
    assert personal_events(ru) == []
    for role in ("operator", "translator", "auditor"):
        c = ru.person(f"p-{role}", role)
        r = c.get(f"/v1/messages/{msg_id}?personal=1")
        assert r.status_code == 403 and "may not see personal data" in r.json()["detail"]
        plain = c.get(f"/v1/messages/{msg_id}?lang=ru").json()
        assert "KOVALENKO" not in json.dumps(plain) and plain["body"] is None
    assert personal_events(ru) == []  # refused, or redacted: nothing disclosed
    releaser = ru.person("Maj. Orlova", "releaser")
    full = releaser.get(f"/v1/messages/{msg_id}?personal=1")
    assert full.status_code == 200 and "KOVALENKO" in json.dumps(full.json(), ensure_ascii=False)
    (event,) = personal_events(ru)
    assert "Maj. Orlova (releaser)" in event and msg_id in event and "API" in event


def console_client(node: LocalNode, name: str, role: str) -> httpx2.Client:
    auth.add_user(node.cfg.db, name, role, PASSWORD, "en", 0.0)
    c = httpx2.Client(base_url=f"http://{node.cfg.api}", timeout=30)
    page = c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    r = c.post("/login", data={"name": name, "password": PASSWORD, "csrf": csrf.group(1), "lang": "en"})
    assert r.status_code in (200, 303), r.text
    return c


def test_the_consoles_show_original_holds_personal_data_only_for_allowed_roles_and_records_it(
    ua_ru: Cluster,
) -> None:
    ua, ru = ua_ru["UA-GS"], ua_ru["RU-MOD"]
    msg_id = prisoner_list(ua)
    for role in ("operator", "translator", "auditor"):
        page = console_client(ru, f"c-{role}", role).get(f"/m/{msg_id}")
        assert page.status_code == 200
        assert "KOVALENKO" not in page.text and "[redacted]" in page.text
    assert personal_events(ru) == []
    page = console_client(ru, "c-releaser", "releaser").get(f"/m/{msg_id}")
    assert "KOVALENKO" in page.text
    (event,) = personal_events(ru)
    assert "c-releaser (releaser)" in event and msg_id in event and "console" in event


# The console's gated pages and forms, with the core's set each must follow: the same rule as
# the API's routes above (one table, core.authority), so a role may do in the console exactly
# what its token may do through the API.
CONSOLE_ROUTES: list[tuple[str, str, dict[str, str], frozenset[str]]] = [
    ("GET", "/compose", {}, may.SEND),
    ("POST", "/compose", {}, may.SEND),
    ("POST", "/m/RU-MOD/999/ack", {}, may.ACK),
    ("POST", "/inbox/ack", {}, may.ACK),
    ("POST", "/m/RU-MOD/999/translate", {}, may.TRANSLATE),
    ("POST", "/drafts/999999/release", {}, may.RELEASE),
    ("GET", "/record", {}, may.RECORD),
    ("GET", "/verify", {}, may.RECORD),
]


def test_the_console_refuses_and_allows_each_role_by_the_same_sets_as_the_api(ua_ru: Cluster) -> None:
    ru = ua_ru["RU-MOD"]
    for role in ("operator", "releaser", "translator", "auditor", "admin"):
        c = console_client(ru, f"k-{role}", role)
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/inbox").text)
        assert csrf is not None
        for method, path, form, allowed in CONSOLE_ROUTES:
            r = c.request(method, path, data={**form, "csrf": csrf.group(1)} if method == "POST" else None)
            if role in allowed:
                assert r.status_code != 403, (role, path, r.text)
            else:
                assert r.status_code == 403, (role, path, r.status_code)


def test_an_api_acknowledgement_is_signed_as_the_tokens_person_whatever_the_body_names(
    ua_ru: Cluster,
) -> None:
    ua, ru = ua_ru["UA-GS"], ua_ru["RU-MOD"]
    out = ua.api(
        "POST", "/v1/messages?wait=20", json={"to": ["RU-MOD"], "precedence": "immediate", "text": "x"}
    )
    assert out["receipted"]
    r = ru.person("Lt. Orlov", "operator").post(
        f"/v1/messages/{out['id']}/ack", json={"answer": "understood", "by": "Gen. Volkov"}
    )
    assert r.status_code == 201, r.text
    (a,) = ru.api("GET", f"/v1/messages/{out['id']}")["acks"]
    assert a["by"] == "Lt. Orlov"
    assert wait_until(
        lambda: [x["by"] for x in ua.api("GET", f"/v1/messages/{out['id']}")["acks"]] == ["Lt. Orlov"]
    )


def test_a_released_flash_is_in_the_nodes_export_with_its_drafter_and_releaser_verifiable_offline(
    ua_ru: Cluster, tmp_path: Path
) -> None:
    ua = ua_ru["UA-GS"]
    drafted = ua.person("Lt. Bondar", "operator").post(
        "/v1/messages", json={"to": ["RU-MOD"], "precedence": "flash", "text": "Терміново."}
    )
    assert drafted.status_code == 202, drafted.text
    released = ua.person("Col. Shevchuk", "releaser").post(f"/v1/drafts/{drafted.json()['draft']}/release")
    assert released.status_code == 201, released.text
    msg_id = released.json()["id"]
    bundle = tmp_path / "ua.bundle"
    made = CliRunner().invoke(cli_main, ["export", str(ua.home), "--out", str(bundle)])
    assert made.exit_code == 0, made.output
    checked = CliRunner().invoke(cli_main, ["verify", str(bundle), "--pins", str(ua.home), "--json"])
    assert checked.exit_code == 0, checked.output
    verdict = json.loads(checked.output)
    assert verdict["status"] == "verified" and verdict["unreleased"] == []
    assert verdict["releases"] == [
        {
            "message": msg_id,
            "reason": "flash",
            "drafted_by": "Lt. Bondar",
            "released_by": "Col. Shevchuk",
            "signer": "UA-GS",
        }
    ]
    # The console's Verify page (in the node's memory-limited child verifier) shows the two persons.
    auditor = console_client(ua, "k-audit", "auditor")
    csrf = re.search(r'name="csrf" value="([^"]+)"', auditor.get("/verify").text)
    assert csrf is not None
    page = auditor.post(
        "/verify", data={"csrf": csrf.group(1)}, files={"bundle": ("ua.bundle", bundle.read_bytes())}
    )
    assert page.status_code == 200, page.text
    row = re.search(r'<tr data-message="' + re.escape(msg_id) + r'">(.*?)</tr>', page.text)
    assert row is not None and "Lt. Bondar" in row.group(1) and "Col. Shevchuk" in row.group(1)
    assert 'id="verdict-unreleased"' not in page.text
    # A selection for the peer carries the release with the message.
    only = tmp_path / "ua-ru.bundle"
    assert (
        CliRunner()
        .invoke(cli_main, ["export", str(ua.home), "--peer", "RU-MOD", "--out", str(only)])
        .exit_code
        == 0
    )
    again = json.loads(
        CliRunner().invoke(cli_main, ["verify", str(only), "--pins", str(ua.home), "--json"]).output
    )
    assert [r["message"] for r in again["releases"]] == [msg_id]
