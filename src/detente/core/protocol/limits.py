"""What one peer may make this node spend: frames read, catch-up requests answered, bytes stored.

A ``PeerSession`` holds one ``Guard`` per peer. Each bound is a small pure machine fed the time
it is given, so the bounds are unit-tested like the rest of the protocol:

- the frame budget (``Guard.pace``): frames read from one peer, as a token bucket; the driver
  waits before reading on when the peer is over it, so one peer's traffic takes at most its
  budget of the event loop and the others are served meanwhile; a frame of a kind that is
  flooding costs ``FLOOD_COST`` frames of it, so a flood is read at a tenth of the rate;
- ``need`` frames: answered at a bounded rate (the rest are counted and ignored);
- floods: each kind of frame is counted per minute, and a kind past its honest rate raises one
  ``flood`` alarm a minute (heartbeats included);
- the store quota: bytes of a peer's entries taken per minute (rate) and per day (volume); past
  either, entries are refused with ``quota`` and the peer resends them later.

The limits themselves come from config.toml ``[limits]`` (``Limits``); the defaults leave honest
use far inside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detente.core import terms

MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    """The node's per-peer limits (config.toml ``[limits]``)."""

    frame_rate: float = 5000.0  # frames a second read from one peer, sustained
    frame_burst: int = 10000  # frames read at once before the rate applies
    need_rate: float = 1.0  # ``need`` frames answered a second, sustained (honest: one a tick)
    need_burst: int = 10
    bytes_per_minute: int = 16 * MIB  # a peer's entries stored: rate
    bytes_per_day: int = 256 * MIB  # and volume


# A kind of frame sent more often than this in a minute is a flood (an honest node sends a
# heartbeat every few seconds and at most one ``need`` a supervision tick). Kinds not listed
# here are bounded by the frame budget alone: honest bursts of entries and receipts are large.
FLOOD_PER_MINUTE: dict[str, int] = {
    "hb": 120,
    "need": 120,
    "witnessed": 120,
    "checkpoint": 120,
    "cosignature": 120,
    "prove": 120,
    "proof": 120,
    "error": 600,
}
DAY = 86400.0
PACE_MIN = 0.01  # seconds: the shortest wait the frame budget asks for
FLOOD_COST = 10  # frames of the budget one frame of a flooding kind costs


@dataclass
class Bucket:
    """A token bucket: ``rate`` tokens a second, at most ``burst`` saved up."""

    rate: float
    burst: float
    tokens: float
    at: float

    def _refill(self, now: float) -> None:
        # A clock stepped back refills nothing (and takes nothing back).
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.at) * self.rate)
        self.at = max(self.at, now)

    def admit(self, now: float) -> bool:
        """Take a token if there is one."""
        self._refill(now)
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def spend(self, now: float, cost: int = 1) -> float:
        """Take ``cost`` tokens whether or not there are: the seconds until the debt is paid
        (0: none)."""
        self._refill(now)
        self.tokens -= cost
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


@dataclass
class Window:
    """A count over a fixed window of ``length`` seconds."""

    length: float
    start: float = float("-inf")
    used: int = 0

    def current(self, now: float) -> int:
        if not self.start <= now < self.start + self.length:
            self.start, self.used = now, 0
        return self.used


@dataclass
class FloodMeter:
    """Frames of each kind in the current minute; says when a kind crosses its limit."""

    counts: dict[str, Window] = field(default_factory=dict)

    def seen(self, kind: str, now: float) -> int | None:
        """Count one frame of ``kind``; its limit when this frame is the first past it, else None.
        Frames past the limit return 0 (counted as a flood, already alarmed this minute)."""
        limit = FLOOD_PER_MINUTE.get(kind)
        if limit is None:
            return None
        w = self.counts.setdefault(kind, Window(terms.RECORD_WINDOW))
        n = w.current(now) + 1
        w.used = n
        if n == limit + 1:
            return limit
        return 0 if n > limit else None


@dataclass
class Quota:
    """Bytes of a peer's entries stored per minute and per day."""

    per_minute: int
    per_day: int
    minute: Window = field(default_factory=lambda: Window(60.0))
    day: Window = field(default_factory=lambda: Window(DAY))

    def charge(self, size: int, now: float) -> str | None:
        """Charge ``size`` bytes, or say which quota it would pass (and charge nothing)."""
        in_minute, in_day = self.minute.current(now), self.day.current(now)
        if in_minute + size > self.per_minute:
            return f"its rate quota ({self.per_minute} bytes a minute, {in_minute} used)"
        if in_day + size > self.per_day:
            return f"its volume quota ({self.per_day} bytes a day, {in_day} used)"
        self.minute.used += size
        self.day.used += size
        return None


class Guard:
    """Every bound on what one peer may make the node spend (see the module docstring)."""

    def __init__(self, limits: Limits, now: float) -> None:
        self.limits = limits
        self.frames = Bucket(limits.frame_rate, limits.frame_burst, limits.frame_burst, now)
        self.needs = Bucket(limits.need_rate, limits.need_burst, limits.need_burst, now)
        self.floods = FloodMeter()
        self.quota = Quota(limits.bytes_per_minute, limits.bytes_per_day)
        self.refused_at: float | None = None  # when an entry was last refused for quota or space
        self.flooding = False  # the last frame was of a kind past its rate this minute

    def pace(self, now: float) -> float:
        """One frame was read: seconds to wait before reading the next (0: read on). The debt is
        paid in waits of at least ``PACE_MIN``: a wait per frame would cost more than the frame."""
        wait = self.frames.spend(now, FLOOD_COST if self.flooding else 1)
        return wait if wait >= PACE_MIN else 0.0

    def refusing(self, now: float, within: float) -> bool:
        """Entries were refused for quota or space in the last ``within`` seconds."""
        return self.refused_at is not None and now - self.refused_at < within
