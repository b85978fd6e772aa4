"""Escalation and presence checks at run time: the shell around ``core.escalation`` and
``core.presence``.

The node's clock tick drives it: an overdue answer (a message's, or a presence check's) and a
missed link test start an item up its ladder (``[escalation]`` in config.toml); each level that
fires is recorded (event ``escalation``), published to the consoles, and, for a ``command`` or
``webhook`` level, pages someone through a local program or URL. A paging call runs in the
background with a timeout, at most ``MAX_HOOKS`` at once, so it never holds up the node; its
failure is an alarm (``escalation-hook-failed``). An answer stops the ladder (event
``escalation-stopped``). Scheduled presence checks (``[presence] at``) go out from the same tick.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

from detente.core import presence
from detente.core.entries import Message, Signed, parse_as, timestamp
from detente.core.escalation import Escalations, Item, Step, What
from detente.store import queries

if TYPE_CHECKING:
    from detente.config import Config
    from detente.core.protocol.session import PeerSession
    from detente.node.clock import Clock
    from detente.store import Store

logger = logging.getLogger("detente.node")

HOOK_TIMEOUT = 10.0  # seconds a paging command or webhook may take
MAX_HOOKS = 4  # paging calls running at once; more are skipped (and recorded)


class Escalate:
    """Mixed into ``Node``: it provides what is declared here."""

    if TYPE_CHECKING:
        party: str
        cfg: Config
        clock: Clock
        store: Store
        peers: dict[str, PeerSession]

        def publish(self, event: dict[str, Any]) -> None: ...
        def spawn(self, coro: Any, name: str) -> None: ...
        async def record(
            self, kind: str, detail: str, peer: str | None = None, ref: str | None = None
        ) -> None: ...
        async def send_presence(self, to: list[str], within: float) -> Signed: ...

    def _init_escalation(self, now: float) -> None:
        self.escalations = Escalations()
        self.hooks_running = 0
        self.next_presence: float | None = presence.next_slot(self.cfg.presence_times, now)

    # -- what starts and stops a ladder ------------------------------------------------------

    async def _message_of(self, msg_id: str) -> Message | None:
        body = await self.store.read(lambda c: queries.message_body(c, msg_id))
        return None if body is None else parse_as(Message, body)

    async def overdue_kind(self, entry_id: str, owed_by: str, due: float) -> str:
        """An answer is overdue: start its ladder, and say which alarm it is (a presence check
        unanswered is ``presence-unanswered``, anything else ``overdue``)."""
        msg = await self._message_of(entry_id)
        if msg is None:
            return "overdue"
        check = presence.is_check(msg.content)
        what: What = "presence" if check else "message"
        ladder = self.cfg.escalation["presence" if check else msg.precedence]
        peer = owed_by if owed_by != self.party else msg.sender
        # After a restart the deadline fires again: the levels already recorded do not.
        done_details = await self.store.read(lambda c: queries.escalation_events(c, entry_id, peer))
        done = min(len(ladder), max((_level_of(d) for d in done_details), default=0))
        self.escalations.watch((entry_id, owed_by), Item(what, entry_id, peer, owed_by, due, ladder, done))
        return "presence-unanswered" if check else "overdue"

    def link_test_missed(self, peer: str, now: float) -> None:
        ladder = self.cfg.escalation["link_test"]
        self.escalations.watch(("link-test", peer), Item("link-test", None, peer, peer, now, ladder))

    def on_answered(self, msg_id: str, owed_by: str, by: str, answer: str) -> None:
        """A person answered ``msg_id`` (``owed_by``: the party whose answer it is): its ladder
        stops at once; what is recorded about it is written in the background, so that the
        answer's own path (the console, the API) does not wait for it."""
        item = self.escalations.settle((msg_id, owed_by))
        self.spawn(self._answered(msg_id, owed_by, by, answer, item), "answered")

    async def _answered(self, msg_id: str, owed_by: str, by: str, answer: str, item: Item | None) -> None:
        peer = owed_by if owed_by != self.party else (msg_id.rsplit("/", 1)[0])
        if item is not None and item.done > 0:
            await self.record(
                "escalation-stopped",
                f"{msg_id}: answered by {by} ({answer}) at level {item.done}/{len(item.ladder)}",
                peer,
                msg_id,
            )
        msg = await self._message_of(msg_id)
        if msg is not None and presence.is_check(msg.content):
            who = "here" if owed_by == self.party else f"by {owed_by}"
            await self.record(
                "presence-answered",
                f"presence check {msg_id} answered {who} in person: {by} ({answer})",
                peer,
                msg_id,
            )

    # -- the tick ------------------------------------------------------------------------------

    async def escalate(self, now: float) -> None:
        """One step: link tests answered since they were missed stop their ladders; levels
        whose time has come fire; a scheduled presence check goes out."""
        for key, item in list(self.escalations.open.items()):
            if item.what != "link-test":
                continue
            session = self.peers.get(item.peer)
            ok = session.sup.last_test_ok if session is not None else None
            if ok is not None and ok >= item.due:
                self.escalations.settle(key)
                if item.done > 0:
                    await self.record(
                        "escalation-stopped", f"link test to {item.peer} answered again", item.peer
                    )
        for step in self.escalations.poll(now):
            await self._fire(step)
        if self.next_presence is not None and now >= self.next_presence:
            self.next_presence = presence.next_slot(self.cfg.presence_times, now)
            await self._scheduled_presence()

    async def _scheduled_presence(self) -> None:
        to = list(self.cfg.presence_to) or sorted(self.peers)
        for party in to:
            try:
                await self.send_presence([party], self.cfg.presence_within)
            except Exception as exc:  # a refusal is an alarm, never a crashed tick
                await self.record("presence-not-sent", f"scheduled presence check to {party}: {exc}", party)

    async def _fire(self, step: Step) -> None:
        item, level = step.item, step.level
        session = self.peers.get(item.peer)
        detail: str | None = step.detail
        if session is not None:
            # A peer's flood of messages due at once is merged, as overdue alarms are.
            session.count("escalation")
            detail = session.budget.admit("escalation", step.detail, item.peer, step.at)
        if detail is not None:
            await self.record("escalation", detail, item.peer, item.ref)
            self.publish(
                {
                    "type": "escalation",
                    "what": item.what,
                    "ref": item.ref,
                    "peer": item.peer,
                    "level": step.index + 1,
                    "notify": level.notify,
                    "role": level.role,
                }
            )
        if level.notify in ("command", "webhook"):
            if self.hooks_running >= MAX_HOOKS:
                why = f"{level.label} not started: {MAX_HOOKS} paging calls already running"
                if session is not None:
                    admitted = session.budget.admit("escalation-hook-failed", why, item.peer, step.at)
                    if admitted is None:
                        return
                    why = admitted
                await self.record("escalation-hook-failed", why, item.peer, item.ref)
                return
            self.hooks_running += 1
            self.spawn(self._hook(step), "escalation-hook")

    async def _hook(self, step: Step) -> None:
        level, item = step.level, step.item
        facts = {
            "party": self.party,
            "what": item.what,
            "ref": item.ref or "",
            "peer": item.peer,
            "level": str(step.index + 1),
            "due": timestamp(item.due),
            "detail": step.detail,
        }
        try:
            if level.notify == "command":
                failure = await _run_command(list(level.command), facts)
            else:
                failure = await _post_webhook(level.url or "", facts)
        finally:
            self.hooks_running -= 1
        if failure is None:
            await self.record("escalation-hook", f"{level.label}: done ({step.detail})", item.peer, item.ref)
        else:
            await self.record("escalation-hook-failed", f"{level.label}: {failure}", item.peer, item.ref)

    # -- status ------------------------------------------------------------------------------------

    def escalation_status(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        out = []
        for row in self.escalations.status(now):
            nxt = row["next_at"]
            out.append(
                {
                    **row,
                    "due": timestamp(float(row["due"])),  # type: ignore[arg-type]
                    "next_at": timestamp(float(nxt)) if nxt is not None else None,  # type: ignore[arg-type]
                }
            )
        return out

    def escalation_of(self, msg_id: str, parties: list[str]) -> dict[str, Any] | None:
        """The highest level a message's unanswered deliveries have reached (``parties``: its
        recipients; this party's own answer is looked up too), or None if none escalated."""
        found = (self.escalations.open.get((msg_id, p)) for p in (*parties, self.party))
        items = [i for i in found if i is not None and i.done > 0]
        if not items:
            return None
        top = max(items, key=lambda i: i.done)
        return {"level": top.done, "levels": len(top.ladder), "reached": top.ladder[top.done - 1].label}

    def escalation_wakeup(self) -> float | None:
        times = [t for t in (self.escalations.next_wakeup(), self.next_presence) if t is not None]
        return min(times) if times else None


def _level_of(detail: str) -> int:
    """The level an ``escalation`` event's detail names ("level 2/3 (...)"), or 0."""
    head = detail.split(" ", 2)
    if len(head) >= 2 and head[0] == "level" and "/" in head[1]:
        n = head[1].split("/", 1)[0]
        return int(n) if n.isdigit() else 0
    return 0


async def _run_command(argv: list[str], facts: dict[str, str]) -> str | None:
    """Run a paging command with the facts in its environment (DETENTE_WHAT, ...); its output is
    not read (nothing it prints can fill the node's memory). None on exit status 0."""
    env = {**os.environ, **{f"DETENTE_{k.upper()}": v for k, v in facts.items()}}
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
        )
    except OSError as exc:
        return f"could not start: {exc}"
    try:
        async with asyncio.timeout(HOOK_TIMEOUT):
            code = await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return f"killed after {HOOK_TIMEOUT:g} s"
    return None if code == 0 else f"exit status {code}"


async def _post_webhook(url: str, facts: dict[str, str]) -> str | None:
    """POST the facts as JSON; redirects are not followed and the answer's body is not read."""
    import httpx2

    try:
        async with (
            httpx2.AsyncClient(timeout=HOOK_TIMEOUT, follow_redirects=False) as client,
            client.stream("POST", url, json=facts) as resp,
        ):
            status = resp.status_code
    except httpx2.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if 200 <= status < 300 else f"HTTP {status}"
