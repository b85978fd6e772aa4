"""Escalation: who is told, and how, while something that needs a person stays unanswered.

An *item* is anything with a deadline a person must meet: a recipient's answer to a message
(ours to a peer's, or a peer's to ours), a presence check, a link test. At its deadline it starts
up its *ladder*: each ``Level`` fires ``after`` seconds past the deadline (every operator at 0,
the shift lead at +5 min, a paging command or webhook at +15 min...), once, in order. An answer
stops the ladder: no level whose time is not before the answer ever fires.

``reached`` is the rule itself, a function of the deadline, the answer (if any) and now; the
``Escalations`` table applies it to many items and remembers what was already done, so that the
node (which drives it from its clock tick and does the notifying) reports each step once.
Pure: the caller passes ``now``.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass, field
from typing import Final, Literal

Notify = Literal["operators", "role", "command", "webhook"]
NOTIFY: Final[tuple[Notify, ...]] = ("operators", "role", "command", "webhook")
What = Literal["message", "presence", "link-test"]

MAX_LEVELS: Final = 8  # levels in one ladder
MAX_AFTER: Final = 7 * 86400.0  # seconds past the deadline a level may wait
MAX_OPEN: Final = 10_000  # items escalating at once; beyond it new ones are refused (counted)


@dataclass(frozen=True, slots=True)
class Level:
    """One step: ``after`` seconds past the deadline, tell ``notify`` (a role's name for
    ``role``, the argv for ``command``, the URL for ``webhook``)."""

    after: float
    notify: Notify
    role: str | None = None
    command: tuple[str, ...] = ()
    url: str | None = None

    @property
    def label(self) -> str:
        if self.notify == "role":
            return f"role {self.role}"
        if self.notify == "command":
            return f"command {self.command[0] if self.command else '?'}"
        if self.notify == "webhook":
            return f"webhook {self.url}"
        return "every operator"


Ladder = tuple[Level, ...]

# At the deadline every operator is told; five minutes later the shift lead.
DEFAULT_LADDER: Final[Ladder] = (Level(0.0, "operators"), Level(300.0, "role", role="shift-lead"))


def check_ladder(levels: Ladder) -> Ladder:
    """A ladder as the node keeps it: levels in order of time; raises ValueError if it is not
    one (too many levels, a time out of range, a level without what it needs)."""
    if len(levels) > MAX_LEVELS:
        raise ValueError(f"at most {MAX_LEVELS} levels")
    for lv in levels:
        if not 0 <= lv.after <= MAX_AFTER:
            raise ValueError(f"'after' must be between 0 and {MAX_AFTER:g} seconds")
        if lv.notify == "role" and not lv.role:
            raise ValueError("a 'role' level names the role")
        if lv.notify == "command" and not lv.command:
            raise ValueError("a 'command' level gives the command as a list of strings")
        if lv.notify == "webhook" and not lv.url:
            raise ValueError("a 'webhook' level gives its url")
    return tuple(sorted(levels, key=lambda lv: lv.after))


def level_time(level: Level, due: float) -> float:
    return due + level.after


def reached(ladder: Ladder, due: float, now: float, answered_at: float | None = None) -> int:
    """How many levels of ``ladder`` (sorted by ``after``) have fired for an item due at ``due``:
    those whose time has come by ``now`` and came strictly before the answer, if there is one."""
    times = [level_time(lv, due) for lv in ladder]
    fired = bisect.bisect_right(times, now)
    if answered_at is None:
        return fired
    # A level due at the very moment of the answer does not fire: the answer came in time.
    return min(fired, bisect.bisect_left(times, answered_at))


@dataclass(slots=True)
class Item:
    """One unanswered item climbing its ladder."""

    what: What
    ref: str | None  # the message or link test concerned
    peer: str  # the party concerned (the one that owes the answer, or that asked us)
    owed_by: str  # who owes the answer: a peer, or this party
    due: float
    ladder: Ladder
    done: int = 0  # levels fired so far

    @property
    def next_at(self) -> float | None:
        return level_time(self.ladder[self.done], self.due) if self.done < len(self.ladder) else None


@dataclass(frozen=True, slots=True)
class Step:
    """A level that fired: ``index`` (0-based) of the item's ladder."""

    key: tuple[str, str]
    item: Item
    index: int
    level: Level
    at: float

    @property
    def detail(self) -> str:
        it = self.item
        who = "this party" if it.owed_by != it.peer else it.peer
        subject = {"message": "message", "presence": "presence check", "link-test": "link test"}[it.what]
        return (
            f"level {self.index + 1}/{len(it.ladder)} ({self.level.label}): "
            f"{subject} {it.ref or 'to ' + it.peer} unanswered by {who}"
        )


@dataclass
class Escalations:
    """Every item escalating, keyed by (ref or what, who owes the answer)."""

    open: dict[tuple[str, str], Item] = field(default_factory=dict)
    refused: int = 0
    _heap: list[tuple[float, tuple[str, str]]] = field(default_factory=list)

    def watch(self, key: tuple[str, str], item: Item) -> bool:
        """Start ``item`` (its deadline passed, or will); False if it is already watched or the
        table is full."""
        if key in self.open:
            return False
        if len(self.open) >= MAX_OPEN:
            self.refused += 1
            return False
        self.open[key] = item
        self._push(key, item)
        return True

    def _push(self, key: tuple[str, str], item: Item) -> None:
        at = item.next_at
        if at is not None:
            heapq.heappush(self._heap, (at, key))

    def settle(self, key: tuple[str, str]) -> Item | None:
        """Answered: no further level fires. Returns the item if it was escalating."""
        return self.open.pop(key, None)

    def poll(self, now: float) -> list[Step]:
        """Levels whose time has come, each once, in time order."""
        out: list[Step] = []
        while self._heap and self._heap[0][0] <= now:
            at, key = heapq.heappop(self._heap)
            item = self.open.get(key)
            if item is None or item.next_at != at:
                continue  # settled, or a stale heap entry
            target = reached(item.ladder, item.due, now)
            while item.done < target:
                out.append(Step(key, item, item.done, item.ladder[item.done], now))
                item.done += 1
            if item.done >= len(item.ladder):
                # Top of the ladder: nothing more fires, but it stays listed until answered.
                continue
            self._push(key, item)
        return out

    def next_wakeup(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def status(self, now: float) -> list[dict[str, object]]:
        """What status shows: each item that has fired at least one level, and what comes next."""
        out: list[dict[str, object]] = []
        for item in sorted(self.open.values(), key=lambda i: i.due):
            if item.done == 0:
                continue
            out.append(
                {
                    "what": item.what,
                    "ref": item.ref,
                    "peer": item.peer,
                    "owed_by": item.owed_by,
                    "due": item.due,
                    "level": item.done,
                    "levels": len(item.ladder),
                    "reached": item.ladder[item.done - 1].label,
                    "next": item.ladder[item.done].label if item.done < len(item.ladder) else None,
                    "next_at": item.next_at,
                }
            )
        return out
