"""The demo: three parties on loopback, linked, exchanging realistic traffic.

Each party is a real node in its own process with its own throwaway directory, keys and
store; they pin each other's cards exactly as operators would (here without the voice check).
Each node gets one console account per role, printed with its console's address, and traffic
keeps arriving so that a newcomer has something to read, answer and release. Any stop signal
(Ctrl-C, SIGTERM, SIGHUP when the terminal closes) stops every node and removes the directory
unless it is to be kept.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import httpx2

from detente import config as cfgmod
from detente.core.encoding import unb64
from detente.core.entries import Signed, open_signed
from detente.core.formats.notice import hours_minutes
from detente.core.formats.samples import sample
from detente.core.keys import VerifyKey
from detente.core.terms import ROLES
from detente.devtools.cluster import Cluster, LocalNode, free_port
from detente.web import auth

PARTIES = [
    ("US-EUCOM", "United States European Command"),
    ("RU-MOD", "Ministry of Defence of the Russian Federation"),
    ("UA-GS", "General Staff of the Armed Forces of Ukraine"),
]

INCIDENT = (
    "INCIDENT REPORT. At 140603Z MAR 23 (14 March 2023, 06:03 UTC) over the Black Sea, in "
    "international airspace near 43°40′N 032°30′E, two Su-27 aircraft intercepted a US MQ-9 "
    "unmanned aircraft on a routine flight. The Su-27s dumped fuel on the MQ-9 and flew in front "
    "of it several times; at about 06:03 UTC one Su-27 struck the MQ-9's propeller. US forces "
    "had to bring the MQ-9 down in international waters. We request an explanation and a call "
    "between the two sides within 24 hours."
)
RESPONSE = (
    "ОТВЕТ НА СООБЩЕНИЕ ОБ ИНЦИДЕНТЕ. 14 марта 2023 г. над Чёрным морем в районе полуострова "
    "Крым средствами контроля воздушного пространства обнаружен БПЛА MQ-9 с выключенными "
    "транспондерами, следовавший в направлении государственной границы Российской Федерации. "
    "Для его идентификации были подняты истребители Су-27. Российские истребители бортовое "
    "оружие не применяли, в контакт с БПЛА не вступали. В результате резкого маневрирования "
    "БПЛА перешёл в неуправляемый полёт со снижением и столкнулся с водной поверхностью. "
    "Готовы к телефонному разговору."
)
EXCHANGE = (
    "Пропонуємо обмін за погодженими категоріями: 157 військовослужбовців з кожного боку та "
    "цивільні особи за окремим списком. Список буде надіслано окремим повідомленням до 06:00 UTC."
)


# Each party's console speaks its own language; account names read as the role they hold.
LANG = {"US-EUCOM": "en", "RU-MOD": "ru", "UA-GS": "uk"}
ACCOUNT = {
    "operator": "officer",
    "releaser": "releaser",
    "translator": "translator",
    "auditor": "auditor",
    "admin": "admin",
}


class Stop(Exception):
    """A stop signal arrived: stop the traffic, check the receipts, stop the nodes."""


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn SIGINT, SIGTERM and SIGHUP into `Stop` once; later ones are ignored so that the
    summary and the nodes' clean stop are not cut short."""
    caught = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {sig: signal.getsignal(sig) for sig in caught}

    def stop(signum: int, frame: FrameType | None) -> None:
        for sig in caught:
            signal.signal(sig, signal.SIG_IGN)
        raise Stop(signal.Signals(signum).name)

    for sig in caught:
        signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def add_accounts(node: LocalNode, password: str) -> dict[str, str]:
    """One console account per role on ``node``, all with ``password``: {role: name}."""
    now = time.time()
    for role in ROLES:
        auth.add_user(node.cfg.db, ACCOUNT[role], role, password, LANG.get(node.party, "en"), now)
    return {role: ACCOUNT[role] for role in ROLES}


def _send(n: LocalNode, **body: Any) -> dict[str, Any]:
    if body["precedence"] == "flash":
        # Two people: drafted with the node's token, released by a releasing officer's own.
        out = n.flash(body)
        receipted = _wait(
            lambda: n.api("GET", f"/v1/messages/{out['id']}")["state"] in ("receipted", "acknowledged"), 10
        )
        return {**out, "receipted": receipted}
    sent: dict[str, Any] = n.api("POST", "/v1/messages?wait=10", json=body)
    return sent


def _wait(done: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.1)
    return False


def _say(text: str) -> None:
    print(text, flush=True)


def _format(name: str) -> dict[str, Any]:
    """A request body for the core's sample message ``name`` (format, version, lang, fields)."""
    s = sample(name)
    return {"format": s.format_id, "version": s.version, "lang": s.lang, "fields": s.fields}


def _exchange(
    ua: LocalNode, ru: LocalNode, us: LocalNode, send: Callable[..., str], failures: list[str]
) -> None:
    """Prisoner exchange of 5 Feb 2026: UA-GS's list, then its four accounts, each signed.

    RU-MOD and UA-GS sign their own accounts as parties. The demo has no mediator's node, so
    the UAE mediator's "157 each" and the US envoy's "314" are relayed by US-EUCOM as quoted
    public statements, each marked with who made it and where (``stated_by``, ``source``):
    signed by US-EUCOM, never passed off as its own count. A mediator running its own node
    signs the same format in its own name (tests/test_reconcile.py).
    """
    lst = send(ua, to=["RU-MOD"], precedence="priority", **_format("prisoner-exchange-list"))
    ref = str(sample("exchange-account-ru").fields["list_ref"])
    ru_acc = send(
        ru, to=["UA-GS", "US-EUCOM"], precedence="priority", ref=lst, **_format("exchange-account-ru")
    )
    ua_acc = send(
        ua, to=["RU-MOD", "US-EUCOM"], precedence="priority", ref=lst, **_format("exchange-account-ua")
    )
    mediator = _format("exchange-account-mediator")
    mediator["fields"]["capacity"] = "mediator"
    mediator["fields"]["stated_by"] = {"lang": "en", "text": "UAE Ministry of Foreign Affairs, mediator"}
    mediator["fields"]["source"] = {"lang": "en", "text": "WAM, 5 Feb 2026: 314 released, 157 each"}
    ae_acc = send(us, to=["RU-MOD", "UA-GS"], precedence="priority", ref=lst, **mediator)
    us_acc = send(
        us, to=["RU-MOD", "UA-GS"], precedence="priority", ref=lst, **_format("exchange-account-quoted")
    )
    if not (lst and ru_acc and ua_acc and ae_acc and us_acc):
        return
    # UA-GS shows every signed account from its own store; nothing is corrected.
    view = ua.api("GET", "/v1/exchanges/accounts", params={"ref": ref})
    _say(f"  prisoner exchange {ref}: the four accounts as signed (detente reconcile {ua.home} {ref}):")
    _say("    " + "\n    ".join(view["text"]["en"].rstrip("\n").splitlines()))
    if len(view["accounts"]) != 4:
        failures.append(f"expected the four accounts of 5 Feb 2026, UA-GS holds {len(view['accounts'])}")
    if not view["mismatches"]:
        failures.append("the exchange accounts were expected to differ (157+3 vs 150+7, 317 vs 314)")


def _presence(us: LocalNode, ru: LocalNode, sent: list[tuple[str, str]], failures: list[str]) -> None:
    """Issue 14.2: is RU-MOD's duty officer at the line? A person there answers; the receipt
    RU-MOD's node sends at once is not an answer."""
    r = us.client.post("/v1/presence", json={"to": ["RU-MOD"], "within": "2m"})
    if r.status_code != 201:
        failures.append(f"US-EUCOM could not send a presence check: {r.text}")
        return
    check = r.json()
    sent.append((us.party, check["id"]))
    _say(f"  US-EUCOM → RU-MOD presence check {check['id']}: a person must answer by {check['answer_by']}")
    if not _wait(lambda: ru.client.get(f"/v1/messages/{check['id']}").status_code == 200, 10):
        failures.append(f"RU-MOD does not hold presence check {check['id']}")
        return
    answer = ru.client.post(
        f"/v1/messages/{check['id']}/ack", json={"by": "Maj. Petrov", "text": "На линии."}
    )
    if answer.status_code != 201:
        failures.append(f"RU-MOD could not answer presence check {check['id']}: {answer.text}")
    else:
        _say(f"  RU-MOD's duty officer (Maj. Petrov) answered presence check {check['id']} in person")


def _late_notice(ru: LocalNode, us: LocalNode, sent: list[tuple[str, str]], failures: list[str]) -> None:
    """Issue 14.4: RU-MOD notifies a launch only 3 h ahead of its window, under the 24 h rule.
    The node refuses to sign until the sender confirms (the CLI's --late-ok, the API's late_ok);
    then it is sent and receipted as usual, and US-EUCOM holds it marked late, by how much."""
    body = _format("missile-launch-notice")
    start = int(time.time()) + 3 * 3600
    body["fields"]["launch_window"] = {
        "start": _iso(start),
        "end": _iso(start + 4 * 24 * 3600),
    }
    body.update(to=["US-EUCOM"], precedence="immediate")
    refused = ru.client.post("/v1/messages", json=body)
    if refused.status_code != 409:
        failures.append(f"a late launch notice was not held for confirmation: {refused.status_code}")
        return
    _say(
        "  RU-MOD → US-EUCOM launch notice 3 h ahead of a 24 h rule: refused until confirmed, nothing signed"
    )
    r = ru.client.post("/v1/messages?wait=10", json={**body, "late_ok": True})
    if r.status_code != 201:
        failures.append(f"RU-MOD could not send its confirmed late notice: {r.text}")
        return
    msg_id = r.json()["id"]
    sent.append((ru.party, msg_id))
    if not _wait(lambda: us.client.get(f"/v1/messages/{msg_id}").status_code == 200, 10):
        failures.append(f"US-EUCOM does not hold the late notice {msg_id}")
        return
    lead = us.api("GET", f"/v1/messages/{msg_id}").get("lead_time") or {}
    if not lead.get("late"):
        failures.append(f"US-EUCOM does not show {msg_id} late: {lead}")
        return
    late_by = hours_minutes(dt.timedelta(seconds=lead["late_by_seconds"]))
    _say(f"  RU-MOD confirmed it late (late_ok) and sent {msg_id}; US-EUCOM shows it LATE by {late_by}")


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _second_path(cluster: Cluster) -> str:
    """Issue 14.6: RU-MOD (the side that dials US-EUCOM, its name sorting first) is given two
    addresses for US-EUCOM, a primary where nothing answers (a cut cable) and US-EUCOM's own
    listener (the backup), so the link runs on the backup from the start. The dead address."""
    dead = f"127.0.0.1:{free_port()}"
    ru, us = cluster["RU-MOD"], cluster["US-EUCOM"]
    config = ru.home / "config.toml"
    config.write_text(config.read_text() + f'\n[paths]\nUS-EUCOM = ["{dead}", "{us.cfg.link}"]\n')
    return dead


def _path_in_use(ru: LocalNode, dead: str, failures: list[str]) -> None:
    link = next(link for link in ru.status()["links"] if link["peer"] == "US-EUCOM")
    path = link.get("path") or {}
    if path.get("primary") or not path.get("in_use"):
        failures.append(f"RU-MOD's link to US-EUCOM was expected on its backup path: {path}")
        return
    why = (path.get("errors") or {}).get(dead, "not answering")
    _say(
        f"  RU-MOD ↔ US-EUCOM runs on the BACKUP path {path['in_use']}: the primary {dead} is down ({why})"
        f" (detente status {ru.home})"
    )


def run_demo(duration: float | None, keep: bool = False) -> bool:
    tmp = tempfile.mkdtemp(prefix="detente-demo-")
    cluster: Cluster | None = None
    try:
        with _stop_on_signals():
            try:
                # Demo supervision is brisk so the link state moves while you watch.
                cluster = Cluster(
                    Path(tmp),
                    PARTIES,
                    tweak=lambda t: t.replace("link_test_every = 3600", "link_test_every = 60"),
                )
                dead = _second_path(cluster)
                password = secrets.token_urlsafe(12)
                accounts = {n.party: add_accounts(n, password) for n in cluster.nodes.values()}
                from detente.node.keyops import announce_pq

                # As detente init does: checkpoints and cosignatures dual-signed with ML-DSA-65.
                for node in cluster.nodes.values():
                    announce_pq(node.cfg, "ML-DSA-65 checkpoint key, made with the node")
                cluster.start()
                return _scenario(cluster, duration, tmp, accounts, password, dead)
            except Stop as stop:
                _say(f"stopping ({stop}): stopping the nodes")
                return True
            finally:
                # Stopping the nodes is not to be interrupted by a signal arriving now.
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(sig, signal.SIG_IGN)
                if cluster is not None:
                    cluster.stop()
    finally:
        if keep:
            _say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _scenario(
    cluster: Cluster,
    duration: float | None,
    tmp: str,
    accounts: dict[str, dict[str, str]],
    password: str,
    dead: str,
) -> bool:
    nodes = list(cluster.nodes.values())
    us, ru, ua = cluster["US-EUCOM"], cluster["RU-MOD"], cluster["UA-GS"]
    _say(f"detente demo: three nodes in {tmp}")
    cluster.wait_links()
    for n in nodes:
        _say(
            f"  {n.party:<9} console http://{n.cfg.api}/  ({LANG[n.party]})  link {n.cfg.link}  dir {n.home}"
        )
    _say(f"  sign in to any console with one of these accounts, password {password}")
    for role, name in accounts[us.party].items():
        _say(f"    {name:<11} {role}")
    _say(f"  or from a shell:  detente status {us.home}   |   detente inbox {ru.home}")
    sent: list[tuple[str, str]] = []
    failures: list[str] = []

    def send(n: LocalNode, **body: Any) -> str:
        try:
            out = _send(n, **body)
        except httpx2.HTTPError as exc:
            failures.append(f"{n.party} could not send: {exc}")
            return ""
        sent.append((n.party, out["id"]))
        _say(
            f"  {n.party} → {','.join(body['to'])} {body['precedence'].upper():<9} {out['id']:<12} "
            f"{'receipted' if out['receipted'] else 'NOT receipted yet'}"
        )
        return str(out["id"])

    report = send(us, to=["RU-MOD"], precedence="flash", text=INCIDENT, lang="en")
    reply = send(ru, to=["US-EUCOM"], precedence="immediate", text=RESPONSE, lang="ru", ref=report)
    for who, msg, answer in ((ru, report, "Получено. Ответ направлен."), (us, reply, "Received.")):
        r = who.client.post(f"/v1/messages/{msg}/ack", json={"by": "duty officer", "text": answer})
        if r.status_code != 201:
            failures.append(f"{who.party} could not acknowledge {msg}: {r.text}")
        else:
            _say(f"  {who.party} acknowledged {msg}")
    # The same incident as agreed formats: fields that read the same in EN, RU and UK.
    fmt_report = send(us, to=["RU-MOD"], precedence="flash", ref=report, **_format("incident-report"))
    fmt_reply = send(
        ru, to=["US-EUCOM"], precedence="immediate", ref=fmt_report, **_format("incident-response")
    )
    if fmt_reply:
        view = us.api("GET", f"/v1/messages/{fmt_reply}?lang=en")
        _say("  RU-MOD's response as US-EUCOM reads it (rendered in English from the signed fields):")
        _say("    " + "\n    ".join(view["rendered"].splitlines()[:6]) + "\n    …")
    send(ua, to=["RU-MOD", "US-EUCOM"], precedence="priority", text=EXCHANGE, lang="uk")
    _exchange(ua, ru, us, send, failures)
    for n in nodes:
        for peer in nodes:
            if peer is not n:
                r = n.client.post(f"/v1/peers/{peer.party}/linktest")
                if r.status_code != 201:
                    failures.append(f"link test {n.party} → {peer.party} failed: {r.text}")
    _say("  link tests sent between every pair")
    _presence(us, ru, sent, failures)
    _late_notice(ru, us, sent, failures)
    _path_in_use(ru, dead, failures)
    _say("running; Ctrl-C to stop" if duration is None else f"running for {duration:g} s")
    started = time.monotonic()
    i = 0
    try:
        while duration is None or time.monotonic() - started < duration:
            left = 2.0 if duration is None else duration - (time.monotonic() - started)
            time.sleep(min(2.0, max(0.0, left)))
            i += 1
            n = nodes[i % 3]
            peers = [p.party for p in nodes if p is not n]
            if i % 10 == 0:
                # Now and then an agreed format at a higher precedence, to answer in the console.
                precedence = "immediate" if i % 30 == 0 else "priority"
                send(n, to=[peers[i % 2]], precedence=precedence, **_format("incident-report"))
                continue
            send(
                n,
                to=[peers[i % 2]],
                precedence="routine",
                text=f"Routine position report {i}.",
                lang="en",
            )
    except Stop as stop:
        # One signal stops the traffic; the summary and a clean stop of the nodes follow (the
        # handler ignores later signals, so a second Ctrl-C does not cut them short).
        _say(f"stopping ({stop}): checking every receipt, then stopping the nodes")
    verified, problems = _verify(nodes, sent)
    failures.extend(problems)
    receipted = sum(1 for _ in sent) - sum(1 for p in problems if "not receipted" in p)
    _say(f"sent {len(sent)}, receipted {receipted}, verified {verified}, failures {len(failures)}")
    for f in failures:
        _say(f"  FAILURE: {f}")
    return not failures


def _verify(nodes: list[LocalNode], sent: list[tuple[str, str]]) -> tuple[int, list[str]]:
    """Check every sent message at its sender: signed, receipted by all, receipts verify."""
    keys = {n.party: VerifyKey.from_b64(cfgmod.signing_key(n.cfg).public.b64) for n in nodes}
    by = {n.party: n for n in nodes}
    verified = 0
    problems: list[str] = []
    deadline = time.monotonic() + 15
    for party, msg_id in sent:
        while True:
            view = by[party].api("GET", f"/v1/messages/{msg_id}?personal=1")
            if all(d["state"] in ("receipted", "acknowledged") for d in view["deliveries"]):
                break
            if time.monotonic() > deadline:
                problems.append(f"{msg_id} not receipted by {[d['peer'] for d in view['deliveries']]}")
                break
            time.sleep(0.2)
        try:
            open_signed(Signed("message", view["body"].encode(), unb64(view["sig"])), keys)
            holders = set()
            for r in view["receipts"]:
                receipt = open_signed(Signed("receipt", r["body"].encode(), unb64(r["sig"])), keys)
                if getattr(receipt, "entry_hash", None) != view["hash"]:
                    raise ValueError(f"receipt from {r['from']} names another message")
                holders.add(r["from"])
            for d in view["deliveries"]:
                if d["peer"] not in holders:
                    raise ValueError(f"no receipt from {d['peer']}")
            verified += 1
        except ValueError as exc:
            problems.append(f"{msg_id}: {exc}")
    return verified, problems


if __name__ == "__main__":
    sys.exit(0 if run_demo(float(os.environ.get("DEMO_DURATION", "20"))) else 1)
