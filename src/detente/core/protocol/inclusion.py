"""Proof that what a peer sent is in that peer's log: inclusion proofs asked for, checked, kept.

A peer's entry is signed, so its author cannot deny it; but a peer could sign an entry and
leave it out of its log. So after this node accepts (witnesses) a peer's checkpoint of size S,
it asks that peer where the entries it received from it, and holds no proof for yet, sit in
that checkpoint::

    {"t": "prove", "size": S, "hashes": [HEX, ...]}            (at most terms.MAX_PROVE)

The peer answers from its own log, only for a size it signed a checkpoint of (otherwise an
``error`` frame with code ``no-checkpoint``)::

    {"t": "proof", "size": S, "items": [{"hash": HEX, "index": I, "path": [B64, ...]}, ...]}

An item for an entry logged at or after S carries its index and no path (asked again at a
later checkpoint); an entry the peer never logged is ``{"hash": HEX, "missing": true}``.

The asking node checks each path against the root of the peer's checkpoint of size S that it
witnessed and keeps it, so an export proves the peer's entries in the peer's log. A path that
does not verify, or an index with no path below S, is a ``bad-proof``. A peer logs an entry
before it sends it, and only entries held before the checkpoint was accepted are asked about,
so a peer that says it never logged one is caught leaving signed entries out of its log: an
``unlogged-entry`` alarm.

One request is outstanding per peer; a full answer brings the next request at once, so a
backlog is worked through without waiting for the next checkpoint.

A peer that leaves requests unanswered for ``deadline`` seconds of link time (``PROVE_DEADLINE``
unless ``[supervision] prove_answer_within`` says otherwise) (time the
link is down does not count: a peer cannot answer then, and ``link-lost`` already says so; the
whole-node simulation found the alarm raised by every long partition) raises one
``proofs-unanswered`` alarm per wait: until it answers, what it sent is
held by its signature alone, and a later revocation of the key it signed with could make that
unattributable (issue 9, defect 8). The operators can then ask the other side why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detente.core import terms
from detente.core.checkpoint import Checkpoint
from detente.core.encoding import EncodingError, b64, unb64
from detente.core.ledger import Ledger, LedgerError, origin, verify_entry_inclusion
from detente.core.merkle import HASH_SIZE, ProofError
from detente.core.protocol.frames import ErrorFrame, Proof, ProofItem, Prove
from detente.core.protocol.txns import PendingProofs, ProofRow

RETRY_AFTER = 10.0  # seconds without an answer before asking again
PROVE_DEADLINE = 600.0  # seconds a request may go unanswered before the alarm (the default)
MAX_STEP = 30.0  # the most one poll of a live link counts toward it


@dataclass(frozen=True, slots=True)
class Finding:
    """Something wrong with one answer item: a bad proof, or an entry the peer never logged."""

    code: str  # "bad-proof" | "unlogged-entry"
    detail: str
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Checked:
    rows: tuple[ProofRow, ...]
    findings: tuple[Finding, ...]
    ask_again: bool  # the request was full: there may be more to ask about


@dataclass
class PeerInclusion:
    """The open request to one peer and what it answered that is not stored."""

    party: str
    size: int | None = None  # the checkpoint size of the request awaiting an answer
    asked: dict[str, str] = field(default_factory=dict)  # entry hash -> entry id (or hash)
    sent_at: float = float("-inf")
    later: dict[str, int] = field(default_factory=dict)  # hash -> index at or beyond a size asked
    disputed: set[str] = field(default_factory=set)  # bad-proof or unlogged: not asked again
    waiting_since: float | None = None  # when the first request still unanswered was sent
    waited: float = 0.0  # seconds of it with the link up
    last_tick: float = 0.0  # when ``waited`` was last brought up to date
    was_up: bool = False  # the link was up at that moment
    alarmed: bool = False  # the alarm for this wait was raised
    deadline: float = PROVE_DEADLINE  # seconds of link time before the alarm

    # -- asking ----------------------------------------------------------------------------------

    def want(self, size: int, since: float, now: float) -> PendingProofs | None:
        """What to look up before asking about checkpoint ``size`` (None: a request is open)."""
        if self.size is not None and now - self.sent_at < RETRY_AFTER:
            return None
        skip = frozenset(self.disputed | {h for h, i in self.later.items() if i >= size})
        return PendingProofs(self.party, since, skip, terms.MAX_PROVE)

    def ask(self, size: int, pending: dict[str, str], now: float, link_up: bool) -> Prove | None:
        if not pending or not link_up:
            self.size = None
            return None
        self.size, self.asked, self.sent_at = size, dict(pending), now
        if self.waiting_since is None:
            self.waiting_since, self.alarmed, self.waited = now, False, 0.0
            self.last_tick, self.was_up = now, True
        return Prove(size, tuple(pending))

    def retry_due(self, now: float) -> bool:
        """A request is open and its answer has not come within ``RETRY_AFTER``: ask again.
        A request or its answer lost on the way must not wait for the peer's next checkpoint
        (a quiet link may have none for hours, and the peer would be alarmed about for it)."""
        return self.size is not None and now - self.sent_at >= RETRY_AFTER

    def overdue(self, now: float, link_up: bool = True) -> Finding | None:
        """The alarm, once per wait, when a request has gone unanswered for the deadline in
        link time (an interval counts when the link was up at both its ends)."""
        if self.waiting_since is None or self.alarmed:
            return None
        if link_up and self.was_up:
            # A live link is polled every heartbeat: a longer step is the clock stepping or the
            # node stalled, not the peer keeping us waiting (the simulation's +600 s clock step
            # raised the alarm against an honest peer), so one step counts at most MAX_STEP.
            self.waited += min(max(0.0, now - self.last_tick), MAX_STEP)
        self.last_tick, self.was_up = now, link_up
        if self.waited < self.deadline:
            return None
        self.alarmed = True
        return Finding(
            "proofs-unanswered",
            f"{self.party} has not answered a request to prove its entries in its log for "
            f"{self.waited:.0f} s of link time: they stand on its signature alone until it does",
        )

    def expects(self, frame: Proof) -> bool:
        return self.size is not None and frame.size == self.size

    def check(self, frame: Proof, root: bytes, now: float) -> Checked:
        """Check every item against the root of the peer's checkpoint we witnessed."""
        asked, full = self.asked, len(self.asked) == terms.MAX_PROVE
        size = frame.size
        assert isinstance(size, int)
        self.size, self.asked, self.waiting_since, self.waited = None, {}, None, 0.0
        rows: list[ProofRow] = []
        findings: list[Finding] = []
        for item in frame.items:
            finding, row = self._item(item, asked, size, root, now)
            if finding is not None:
                findings.append(finding)
            if row is not None:
                rows.append(row)
                self.later.pop(row.entry_hash, None)
        return Checked(tuple(rows), tuple(findings), full)

    def _item(
        self, item: ProofItem, asked: dict[str, str], size: int, root: bytes, now: float
    ) -> tuple[Finding | None, ProofRow | None]:
        h = item.hash
        if not isinstance(h, str):
            return Finding("bad-proof", f"proof answer names an entry not asked about: {str(h)[:80]}"), None
        if h not in asked:
            # An answer carries no request id: one to an earlier request for the same size
            # (resent after RETRY_AFTER, or arriving late) may name what this one does not ask.
            # That is stale, not false; the entry is asked about again if still unproven.
            return None, None
        ref = asked[h]
        if item.missing:
            self.disputed.add(h)
            detail = (
                f"{self.party} signed and sent {ref} ({h[:16]}…) but says its log does not hold it "
                f"(asked against its checkpoint of size {size})"
            )
            return Finding("unlogged-entry", detail, ref), None
        index, path = item.index, item.path
        if type(index) is not int or index < 0:
            self.disputed.add(h)
            return Finding("bad-proof", f"proof of {ref} has no index", ref), None
        if path is None and index >= size:
            self.later[h] = index
            return None, None
        try:
            if not isinstance(path, list) or len(path) > terms.MAX_PATH:
                raise ProofError("the path is not a short list")
            steps = [unb64(p, length=HASH_SIZE) for p in path if isinstance(p, str)]
            if len(steps) != len(path):
                raise ProofError("a path element is not a string")
            verify_entry_inclusion(h, index, steps, Checkpoint(origin(self.party), size, root))
        except (ProofError, EncodingError, ValueError) as exc:
            self.disputed.add(h)
            return Finding(
                "bad-proof", f"proof of {ref} at index {index} in size {size} fails: {exc}", ref
            ), None
        return None, ProofRow(h, self.party, index, size, tuple(path), now)


def answer(prove: Prove, where: dict[str, int] | None, ledger: Ledger) -> Proof | ErrorFrame:
    """Our answer to a ``prove``: ``where`` maps hashes in our log to their index (None: we
    never signed a checkpoint of that size)."""
    if where is None:
        return ErrorFrame("no-checkpoint", f"no checkpoint of size {prove.size} was signed here")
    items: list[ProofItem] = []
    for h in dict.fromkeys(prove.hashes):
        index = where.get(h)
        if index is None:
            items.append(ProofItem(hash=h, missing=True))
        elif index >= prove.size:
            items.append(ProofItem(hash=h, index=index))
        else:
            try:
                at, path = ledger.inclusion_proof(h, prove.size)
            except (LedgerError, ValueError):  # the in-memory log lags the table: asked again later
                continue
            items.append(ProofItem(hash=h, index=at, path=[b64(p) for p in path]))
    return Proof(prove.size, tuple(items))
