"""High availability of a node: the ``[ha]`` settings, waiting as the passive process, and keeping
the writer's lease as the active one.

Two processes serve one party on one PostgreSQL database (docs/operators.md, "High
availability"). Each waits for the writer's lease (``store.lease``) before it starts the node;
the one that holds it is the active node and renews it; the other stays passive. The lease
fences every write, so this module only has to stop the process promptly once the lease is
lost: safety does not depend on it noticing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass

from detente.config import Config, ConfigError
from detente.store.lease import Fenced, Lease

logger = logging.getLogger("detente.ha")


@dataclass(frozen=True)
class HaSettings:
    """``[ha]`` in config.toml: ``lease = true`` turns the writer's lease on; ``ttl`` is how
    long (seconds) a lease lasts without renewal, and so how soon a passive process takes over
    from a dead active one (within ``ttl`` plus one poll)."""

    ttl: float = 3.0

    @classmethod
    def from_config(cls, cfg: Config) -> HaSettings | None:
        section = cfg.sections.get("ha")
        if section is None:
            return None
        if not isinstance(section, dict) or not isinstance(section.get("lease", False), bool):
            raise ConfigError(f"{cfg.home / 'config.toml'}: [ha] lease must be true or false")
        if not section.get("lease", False):
            return None
        ttl = section.get("ttl", 3.0)
        if not isinstance(ttl, int | float) or isinstance(ttl, bool) or not 1.0 <= ttl <= 60.0:
            raise ConfigError(f"{cfg.home / 'config.toml'}: [ha] ttl must be seconds between 1 and 60")
        if not cfg.db.startswith("postgresql"):
            raise ConfigError(
                f"{cfg.home / 'config.toml'}: [ha] needs a PostgreSQL store (db = postgresql://…)"
            )
        return cls(ttl=float(ttl))


async def wait_for_lease(cfg: Config, settings: HaSettings, stop: asyncio.Event) -> Lease | None:
    """Stay passive until this process holds the writer's lease (None: asked to stop first)."""
    loop = asyncio.get_running_loop()
    holder = f"{socket.gethostname()} pid {os.getpid()} link {cfg.link}"
    try:
        lease = await loop.run_in_executor(None, lambda: Lease(cfg.db, holder, settings.ttl))
    except Exception as exc:
        # An OSError: ``detente serve`` says "cannot serve: …" in one sentence, as for a port in use.
        raise OSError(f"cannot reach the store for the writer's lease: {exc.__class__.__name__}") from exc
    logger.info("%s passive: waiting for the writer's lease", cfg.party)
    while not stop.is_set():
        if await loop.run_in_executor(None, lease.acquire):
            logger.warning("%s active: holds the writer's lease (epoch %s)", cfg.party, lease.epoch)
            return lease
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.ttl / 3)
    lease.engine.dispose()
    return None


async def keep_lease(lease: Lease, stop: asyncio.Event) -> bool:
    """Renew the lease three times per ``ttl`` until ``stop``; set ``stop`` and return True
    when it is lost.

    A renewal that cannot reach the database is tried again: if the lease expires meanwhile and
    the passive process takes it, this process's writes are already refused (fenced) and the
    next renewal says so.
    """
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            await loop.run_in_executor(None, lease.renew)
        except Fenced as exc:
            logger.error("%s: stopping", exc)
            stop.set()
            return True
        except Exception as exc:
            logger.warning("the writer's lease could not be renewed: %s", exc.__class__.__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), lease.ttl / 3)
    return False
