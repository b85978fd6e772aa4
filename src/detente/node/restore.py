"""A node restored from a backup, until its peers show that nothing it already said is missing.

Sequence numbers and log indexes come from the store: at start the writer's counters are the
store's highest numbers. A backup is older than the node's last sends, so a restored store may
lack entries its peers hold: numbering on from the store would give a peer a second entry under
a sequence number it holds (refused as a conflict), and our log a second entry at an index our
peers have cosigned (a fork: equivocation in their evidence). So after ``detente restore`` the
node numbers nothing until every pinned peer's hello says how much of our log it has cosigned:

- every peer at or below the restored log's size: nothing signed since that size reached a
  peer's checkpoint; the restore is reconciled and the node works as before;
- any peer above it: the backup is older than what the peers hold. The node stays held, says so
  in status and an alarm (``restore-behind``), and its links close after the hello, so peers
  keep their queues and nothing is lost; the operator restores a newer backup.

The ``NodeLock`` keeps one node per directory: ``serve`` holds it, ``restore`` and ``doctor``
use it to tell whether the node runs.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from detente.node.clock import Clock
from detente.store import Store
from detente.store import backup as store_backup


class NodeLock:
    """An exclusive lock on DIR/node.lock, held while a node serves DIR."""

    def __init__(self, home: Path) -> None:
        self.path = home / "node.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock; False if another process holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def holder(self) -> int | None:
        """The pid of the process serving DIR, or None if no node serves it."""
        if not self.path.exists():
            return None
        if self.acquire():
            self.release()
            return None
        try:
            return int(self.path.read_text().strip() or 0) or None
        except (OSError, ValueError):
            return None


@dataclass
class RestoreHold:
    """Numbering is held after a restore until every peer's hello has been heard."""

    restore_id: int
    log_size: int
    source: str
    waiting: set[str]
    behind: dict[str, int] = field(default_factory=dict)

    @property
    def released(self) -> bool:
        return not self.waiting and not self.behind

    def heard(self, party: str, witnessed: int) -> None:
        """``party``'s hello says it has cosigned ``witnessed`` entries of our log."""
        self.waiting.discard(party)
        if witnessed > self.log_size:
            self.behind[party] = witnessed

    def reason(self) -> str:
        if self.behind:
            worst = max(self.behind.values())
            peers = ", ".join(f"{p} ({n})" for p, n in sorted(self.behind.items()))
            return (
                f"this store was restored from a backup holding {self.log_size} entries of our log, "
                f"but peers have cosigned more: {peers}; sending now would reuse sequence numbers and "
                f"log indexes they hold. Restore a backup holding at least {worst} log entries "
                "(detente restore DIR BACKUP) and restart; nothing is sent or accepted until then"
            )
        return (
            "this store was restored from a backup and is not yet reconciled with its peers: waiting "
            f"for the hello of {', '.join(sorted(self.waiting))}; nothing is sent or accepted until "
            "every peer has connected"
        )

    def status(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "log_size": self.log_size,
            "waiting_for": sorted(self.waiting),
            "peers_ahead": dict(sorted(self.behind.items())),
            "detail": self.reason(),
        }


class RestoreGate:
    """The hold on a restored node's links, weighed at each peer's hello; ``Node`` inherits it."""

    if TYPE_CHECKING:
        store: Store
        clock: Clock

        async def record(
            self, kind: str, detail: str, peer: str | None = None, ref: str | None = None
        ) -> None: ...

    # Set at start when the store was restored from a backup and not yet reconciled.
    hold: RestoreHold | None = None

    async def admit_link(self, party: str, witnessed: int) -> str | None:
        """Why the link to ``party`` may not carry entries, or None. Always None unless the store
        was restored and is not yet reconciled: then ``party``'s hello (how much of our log it
        has cosigned) is weighed, and links are refused until every peer's hello shows nothing
        is missing."""
        hold = self.hold
        if hold is None:
            return None
        ahead = party in hold.behind
        hold.heard(party, witnessed)
        if party in hold.behind and not ahead:
            await self.record("restore-behind", hold.reason(), peer=party)
        if not hold.released:
            return hold.reason()
        if self.hold is hold:  # two hellos may complete it at once: reconcile once
            await self._reconciled(hold)
        return None

    async def _reconciled(self, hold: RestoreHold) -> None:
        # Released in memory first; should the write fail, the next start holds again (safe).
        self.hold = None
        now = self.clock.now()
        outcome = f"every peer had cosigned at most the {hold.log_size} log entries restored"
        await self.store.write(lambda c: store_backup.restore_reconciled(c, hold.restore_id, now, outcome))
        await self.record("restore-reconciled", f"restore from {hold.source} reconciled: {outcome}")
