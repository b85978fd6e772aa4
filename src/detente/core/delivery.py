"""Delivery state machines: what to send, resend, accept and raise, as pure decisions.

Each (sender -> recipient) pair is a stream with its own sequence numbers. ``Outbound`` is the
sender's view of one stream (what is still unreceipted, when to try again), ``Inbound`` the
recipient's (what is durably held, where the gaps are). ``Supervisor`` watches one link
(heartbeats, link tests) and ``Deadlines`` watches acknowledgement deadlines.

None of them does I/O or reads a clock: the shell passes ``now`` (seconds, from its injected
clock) in and carries the returned decisions out. The durable truth lives in the store; these
machines are rebuilt from it after a restart (``Outbound.restore``, ``Inbound.restore``).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

from detente.core.terms import RANK as RANK  # re-exported: the node orders its writes by it
from detente.core.terms import Precedence

K = TypeVar("K", str, tuple[str, str])  # what a deadline is kept by


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped, jittered exponential backoff for resending unreceipted entries.

    The cap is small on purpose: a hotline peer that comes back must be served within
    seconds, not after the hours-long backoff cliffs that federated chat systems suffer.
    """

    first: float = 5.0
    cap: float = 30.0
    factor: float = 2.0

    def delay(self, attempts: int, jitter: float) -> float:
        """Delay before try ``attempts + 1``; ``jitter`` in [0, 1) spreads retries out."""
        # Bounded exponent: a link up for days without receipts must not overflow a float.
        raw = min(self.cap, self.first * self.factor ** min(64, max(0, attempts - 1)))
        return raw * (0.5 + 0.5 * jitter)


@dataclass(slots=True)
class Pending:
    seq: int
    precedence: Precedence
    attempts: int = 0
    next_try: float = 0.0
    needed_at: float = float("-inf")  # when a ``need`` last had it resent

    def order(self) -> tuple[int, int]:
        return (RANK[self.precedence], self.seq)


class Outbound:
    """The sender's side of one stream: entries sent until the peer's receipt arrives."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        jitter: Callable[[], float] = lambda: 0.5,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._jitter = jitter
        self.pending: dict[int, Pending] = {}
        self.up = False
        self.last_progress: float | None = None

    def restore(self, unreceipted: Iterable[tuple[int, Precedence]]) -> None:
        """Reload what the store still holds unreceipted (after a restart)."""
        for seq, precedence in unreceipted:
            self.pending[seq] = Pending(seq, precedence)

    def enqueue(self, seq: int, precedence: Precedence, now: float) -> list[int]:
        """A new entry was durably queued; returns the sequence numbers to send now."""
        self.pending[seq] = Pending(seq, precedence)
        return self._take([self.pending[seq]], now) if self.up else []

    def link_up(self, now: float) -> list[int]:
        """The link opened: everything unreceipted goes out at once, highest precedence first."""
        self.up = True
        for p in self.pending.values():
            p.attempts = 0
        return self._take(list(self.pending.values()), now)

    def link_down(self) -> None:
        self.up = False

    def receipted(self, seq: int, now: float) -> bool:
        """The peer's receipt for ``seq`` was verified and stored; False if not pending."""
        if self.pending.pop(seq, None) is None:
            return False
        # Only a receipt for something pending is progress: duplicates must not hold back
        # the resends of what is really missing.
        self.last_progress = now
        return True

    def need(self, seqs: Iterable[int], now: float) -> list[int]:
        """The peer reports gaps: resend those we still hold, now, unless a ``need`` had them
        resent in the last ``policy.first`` seconds (that copy is still on its way; asking again
        and again must not make us send one entry again and again)."""
        if not self.up:
            return []
        held = (self.pending[s] for s in seqs if s in self.pending)
        due = [p for p in held if now - p.needed_at >= self.policy.first]
        for p in due:
            p.needed_at = now
        return self._take(due, now)

    def poll(self, now: float) -> list[int]:
        """Timer: resend whatever is due.

        Nothing is resent while receipts keep arriving: a peer working through a backlog on a
        live connection has the frames already, and resending them would only lengthen the
        backlog (a retransmission storm). Once receipts stop, whatever is still due goes out.
        """
        if not self.up:
            return []
        if self.last_progress is not None and now - self.last_progress < self.policy.first:
            return []
        return self._take([p for p in self.pending.values() if p.next_try <= now], now)

    def next_wakeup(self) -> float | None:
        if not self.up or not self.pending:
            return None
        wake = min(p.next_try for p in self.pending.values())
        if self.last_progress is not None:
            # ``poll`` holds resends back while receipts arrive: waking before then would find
            # nothing to do, and a timer asked to wake in the past spins.
            wake = max(wake, self.last_progress + self.policy.first)
        return wake

    def depth(self) -> int:
        return len(self.pending)

    def _take(self, due: list[Pending], now: float) -> list[int]:
        due.sort(key=Pending.order)
        for p in due:
            p.attempts += 1
            p.next_try = now + self.policy.delay(p.attempts, self._jitter())
        return [p.seq for p in due]


class Arrival(Enum):
    NEW = "new"
    DUPLICATE = "duplicate"


class Inbound:
    """The recipient's side of one stream: which sequence numbers are durably held.

    The store's unique key on (sender, seq) is the authority on duplicates; this mirror lets
    the node find gaps and ask for them without a query per frame.
    """

    def __init__(self) -> None:
        self.watermark = 0  # every seq <= watermark is held
        self.above: set[int] = set()
        self.highest_seen = 0

    def restore(self, held: Iterable[int]) -> None:
        for seq in held:
            self.accepted(seq)

    def classify(self, seq: int) -> Arrival:
        self.highest_seen = max(self.highest_seen, seq)
        return Arrival.DUPLICATE if self.holds(seq) else Arrival.NEW

    def holds(self, seq: int) -> bool:
        return seq <= self.watermark or seq in self.above

    def accepted(self, seq: int) -> None:
        """``seq`` is now durably stored."""
        self.highest_seen = max(self.highest_seen, seq)
        if seq <= self.watermark:
            return
        self.above.add(seq)
        while self.watermark + 1 in self.above:
            self.watermark += 1
            self.above.discard(self.watermark)

    def gaps(self, limit: int = 1000) -> list[int]:
        """Sequence numbers below the highest seen that are not held (oldest first)."""
        out: list[int] = []
        seq = self.watermark + 1
        while seq < self.highest_seen and len(out) < limit:
            if seq not in self.above:
                out.append(seq)
            seq += 1
        return out


class Alarm(Enum):
    LINK_LOST = "link-lost"
    LINK_TEST_MISSED = "link-test-missed"


@dataclass(slots=True)
class SupervisorPolicy:
    heartbeat: float = 5.0
    missed_heartbeats: int = 3
    link_test_every: float = 3600.0
    link_test_answer_within: float = 60.0
    # Seconds of link time a peer may leave a request to prove its entries unanswered before
    # the ``proofs-unanswered`` alarm (``core.protocol.inclusion``).
    prove_answer_within: float = 600.0


@dataclass(slots=True)
class Tick:
    """What a supervisor decided at one moment."""

    send_heartbeat: bool = False
    send_link_test: bool = False
    alarms: list[Alarm] = field(default_factory=list)
    link_lost: bool = False


class Supervisor:
    """Watches one peer link: heartbeats out, silence in, scheduled link tests answered."""

    def __init__(self, policy: SupervisorPolicy, now: float) -> None:
        self.policy = policy
        self.connected = False
        self.last_heard: float | None = None
        self.last_sent = now
        self.next_link_test = now + policy.link_test_every
        self.awaiting_test: dict[str, float] = {}
        self.last_test_ok: float | None = None
        # Since when the link has been down (silence or closed; at start, since start): what an
        # operator at shift change needs instead of "connected since: never".
        self.down_since: float | None = now

    def on_connected(self, now: float) -> None:
        self.connected = True
        self.last_heard = now
        self.down_since = None

    def on_disconnected(self, now: float) -> None:
        self.connected = False
        if self.down_since is None:
            self.down_since = now

    def on_frame(self, now: float) -> None:
        self.last_heard = now

    def on_sent(self, now: float) -> None:
        self.last_sent = now

    def link_test_sent(self, entry_id: str, now: float) -> None:
        self.awaiting_test[entry_id] = now + self.policy.link_test_answer_within

    def link_test_answered(self, entry_id: str, now: float) -> bool:
        if self.awaiting_test.pop(entry_id, None) is None:
            return False
        self.last_test_ok = now
        return True

    def poll(self, now: float) -> Tick:
        tick = Tick()
        p = self.policy
        if self.connected:
            if now - self.last_sent >= p.heartbeat:
                tick.send_heartbeat = True
                self.last_sent = now
            heard = self.last_heard if self.last_heard is not None else now
            if now - heard >= p.heartbeat * p.missed_heartbeats:
                tick.link_lost = True
                tick.alarms.append(Alarm.LINK_LOST)
                self.connected = False
                self.down_since = now
        # The schedule runs whether or not the link is up: a test that cannot be sent is a
        # test that will be missed, and that is exactly what must raise an alarm.
        if now >= self.next_link_test:
            tick.send_link_test = True
            self.next_link_test = now + p.link_test_every
        for entry_id, due in list(self.awaiting_test.items()):
            if now >= due:
                del self.awaiting_test[entry_id]
                tick.alarms.append(Alarm.LINK_TEST_MISSED)
        return tick

    def next_wakeup(self) -> float:
        p = self.policy
        # Every time listed is one at which ``poll`` acts, so the driver never wakes to find
        # nothing due and asks to be woken at once again (a busy loop). Heartbeats go out only
        # on a connected link.
        times = [self.next_link_test]
        if self.connected:
            times.append(self.last_sent + p.heartbeat)
        if self.connected and self.last_heard is not None:
            times.append(self.last_heard + p.heartbeat * p.missed_heartbeats)
        times.extend(self.awaiting_test.values())
        return min(times)


class Deadlines(Generic[K]):
    """Acknowledgement deadlines: which became overdue, each reported once.

    Keyed by whatever the caller settles separately: the node keys them by (message id,
    recipient), so one recipient's answer settles only the delivery to that recipient.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, K]] = []
        self._due: dict[K, float] = {}  # watched and not yet reported or settled
        # Settled before being watched (an acknowledgement can overtake): remembered, boundedly.
        self._early: dict[K, None] = {}

    def watch(self, key: K, due: float) -> None:
        if key in self._due or self._early.pop(key, 0) is None:
            return
        self._due[key] = due
        heapq.heappush(self._heap, (due, key))

    def settled(self, key: K) -> None:
        """Acknowledged (or otherwise closed): it can no longer become overdue."""
        if self._due.pop(key, None) is None:
            self._early[key] = None
            if len(self._early) > 10_000:
                del self._early[next(iter(self._early))]

    def poll(self, now: float) -> list[K]:
        return [key for key, _ in self.poll_due(now)]

    def poll_due(self, now: float) -> list[tuple[K, float]]:
        """As ``poll``, with each deadline (escalation counts its levels from it)."""
        out: list[tuple[K, float]] = []
        while self._heap and self._heap[0][0] <= now:
            due, key = heapq.heappop(self._heap)
            if self._due.get(key) == due:
                del self._due[key]
                out.append((key, due))
        return out

    def next_wakeup(self) -> float | None:
        return self._heap[0][0] if self._heap else None
