"""Signature checks spread over the machine's cores, for offline verification of large bundles.

The core's verifier decides which key must have signed what; this only runs the Ed25519
checks in worker processes (Ed25519 in ``cryptography`` holds the GIL, so threads do not help).
The verifier hands over one bounded batch at a time, so the pool is kept across batches.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType

from detente.core.bundle import SignatureCheck, verify_signatures

# Below this many signatures, starting processes costs more than it saves.
PARALLEL_FROM = 2_000


class ParallelChecker:
    """A ``verify_many`` for ``verify_bundle`` whose worker processes live until ``close``."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def __call__(self, checks: list[SignatureCheck]) -> list[bool]:
        if self.workers < 2 or len(checks) < PARALLEL_FROM:
            return verify_signatures(checks)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers)
        size = -(-len(checks) // (self.workers * 4))
        chunks = [checks[i : i + size] for i in range(0, len(checks), size)]
        return [ok for part in self._pool.map(verify_signatures, chunks) for ok in part]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> ParallelChecker:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def verify_in_parallel(checks: list[SignatureCheck], workers: int | None = None) -> list[bool]:
    """One batch of checks over the cores (a pool for this call only)."""
    with ParallelChecker(workers) as checker:
        return checker(checks)
