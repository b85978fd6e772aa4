"""Two-person release as node commands: submit (send, or draft if the policy says so), draft,
release, withdraw, and the drafts held.

The node decides, not the caller: which message needs release is ``core.release.ReleasePolicy``
(from ``config.toml``); who may release or withdraw, and in which state, is checked by the core
on the draft as the store holds it inside the writer's transaction (``store.drafts``). A
release numbers, signs and queues the message and marks the draft released in one transaction,
so a message is signed exactly when its draft is released: of two releases, or a release and a
withdrawal, racing, one wins and the other gets ``DraftNotWaiting``.

The callers pass the person acting and the roles that person holds: the console its signed-in
user, the HTTP API the person its token names. The release is recorded on the draft, as an
event, and in the signed record: a ``release`` entry (``core.entries.Release``: message id and
hash, drafter, releaser, reason) signed and logged in the transaction that signs the message,
so an export lets an auditor check offline that two people released it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from detente.core.entries import Content, Message, Precedence, Release, Signed, parse_as, sign, timestamp
from detente.core.release import Draft, Reason, ReleasePolicy
from detente.core.terms import PRECEDENCES
from detente.node.operator import NodeError, Operator
from detente.store import Connection
from detente.store import drafts as stored
from detente.store import txns as store_txns

DRAFT_LIST = 200  # drafts a listing shows


@dataclass(frozen=True)
class Released:
    """A draft released: the draft as now stored, and the message signed for it."""

    draft: Draft
    signed: Signed

    @property
    def message_id(self) -> str:
        return parse_as(Message, self.signed.body).id


class Releases(Operator):
    """The release commands; ``Node`` inherits them."""

    @property
    def release_policy(self) -> ReleasePolicy:
        return ReleasePolicy(release_formats=self.cfg.release_formats)

    def release_reason(self, precedence: str, content: Content) -> Reason | None:
        """Why this message would need a second person's release here, or None."""
        return self.release_policy.reason(precedence, content.type == "format")

    async def submit(
        self,
        to: list[str],
        precedence: Precedence,
        content: Content,
        *,
        by: str,
        ref: str | None = None,
        keyed: store_txns.Keyed | None = None,
        late_ok: bool = False,
    ) -> Signed | Draft:
        """Send the message now, or keep it as a draft if it needs a second person's release.
        ``keyed`` (a client's idempotency key) applies to a message sent now; a draft is not an
        entry, and its release is a person's act, not a retry."""
        if self.release_reason(precedence, content) is not None:
            return await self.draft(to, precedence, content, by=by, ref=ref, late_ok=late_ok)
        return await self.send_message(to, precedence, content, ref, keyed=keyed, late_ok=late_ok)

    async def draft(
        self,
        to: list[str],
        precedence: Precedence,
        content: Content,
        *,
        by: str,
        ref: str | None = None,
        late_ok: bool = False,
    ) -> Draft:
        """Keep a message that needs release as an unsigned draft by ``by``.

        Checked as a send would be (recipients pinned, a format message valid and held by each
        recipient), so a draft is one that could be sent; it is checked again when released.
        """
        reason = self.release_reason(precedence, content)
        if reason is None:
            raise NodeError(f"a {precedence} message needs no release here: it is sent at once")
        recipients = self.check_recipients(to)
        self.check_content(recipients, content)
        now = self.clock.now()
        # Already late when drafted: its author confirms that now. Its release signs it later
        # still; the lateness is then shown from the signed message, not asked again.
        self.check_lead_time(content, now, late_ok)
        made = await self.store.write(
            lambda c: stored.add(
                c,
                author=by,
                created=now,
                recipients=recipients,
                precedence=precedence,
                content=content.model_dump(),
                ref=ref,
                reason=reason,
            )
        )
        await self.record(
            "draft", f"{by} drafted a {precedence} message ({reason}) for release as draft {made.id}"
        )
        return made

    async def release(self, draft_id: int, *, by: str, roles: Collection[str]) -> Released:
        """Sign and queue a draft's message, released by ``by`` (who holds ``roles``).

        Refused (``core.release.ReleaseRefused``, nothing signed) unless ``by`` holds the
        releaser role, did not draft it, and the draft is still waiting when the writer runs.
        """
        # Refuse early what is refused anyway, before the content is checked again.
        draft = await self.store.read(lambda c: stored.check_release(c, draft_id, by, roles))
        if draft.precedence not in PRECEDENCES:
            raise NodeError(f"draft {draft_id} has an unknown precedence {draft.precedence!r}")
        precedence: Precedence = draft.precedence
        now = self.clock.now()
        done: list[Draft] = []

        def mark(c: Connection, message_id: str) -> None:
            done.append(stored.release(c, draft_id, by, roles, now, message_id))
            # The release in the signed record, in the message's own transaction: the message
            # is never signed without it (a refusal above undoes both).
            created = timestamp(now)
            record = Release(
                v=1,
                kind="release",
                party=self.party,
                msg=message_id,
                msg_hash=store_txns.message_hash(c, message_id),
                reason="format" if draft.reason == "format" else "flash",
                drafted_by=draft.author,
                released_by=by,
                created=created,
            )
            signed_release = sign(self.key, record)
            store_txns.append_release(
                c, self.store.counters, self.party, signed_release, message_id, created, now
            )

        # late_ok: a release is never refused for lateness (the author confirmed it when
        # drafting, or it turned late while waiting); the signed message shows how late it is.
        signed = await self.send_message(
            list(draft.recipients), precedence, draft.message_content(), draft.ref, then=mark, late_ok=True
        )
        released = Released(done[-1], signed)  # the last run: a batch retried alone runs it again
        await self.record(
            "release",
            f"{by} released draft {draft_id} by {draft.author} as {released.message_id}",
            ref=released.message_id,
        )
        return released

    async def give_back(self, draft_id: int, *, by: str, roles: Collection[str], comment: str) -> Draft:
        """Return a waiting draft to its author, unsigned, with ``comment`` (a releaser who is not
        its author; refused as a release would be). Recorded as the event ``draft-returned``."""
        now = self.clock.now()
        returned = await self.store.write(lambda c: stored.give_back(c, draft_id, by, roles, now, comment))
        await self.record(
            "draft-returned", f"{by} returned draft {draft_id} by {returned.author} to its author"
        )
        return returned

    async def draft_released_as(self, message_id: str) -> Draft | None:
        """The draft a message was released from (who drafted it, who released it), or None."""
        return await self.store.read(lambda c: stored.by_message(c, message_id))

    async def withdraw(self, draft_id: int, *, by: str) -> Draft:
        """Withdraw a waiting draft; only its author may."""
        return await self.store.write(lambda c: stored.withdraw(c, draft_id, by))

    async def draft_of(self, draft_id: int) -> Draft | None:
        return await self.store.read(lambda c: stored.get(c, draft_id))

    async def drafts(self, state: str | None = None, limit: int = DRAFT_LIST) -> list[Draft]:
        """The newest drafts (in ``state``, if given), newest first."""
        return await self.store.read(lambda c: stored.newest(c, limit, state))
