"""Signature checks spread over the machine's cores, for offline verification of large bundles.

The core's verifier decides which key must have signed what; this only runs the Ed25519
checks in worker processes (Ed25519 in ``cryptography`` holds the GIL, so threads do not help).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

from detente.core.bundle import SignatureCheck, verify_signatures

# Below this many signatures, starting processes costs more than it saves.
PARALLEL_FROM = 2_000


def verify_in_parallel(checks: list[SignatureCheck], workers: int | None = None) -> list[bool]:
    workers = workers or os.cpu_count() or 1
    if workers < 2 or len(checks) < PARALLEL_FROM:
        return verify_signatures(checks)
    size = -(-len(checks) // (workers * 4))
    chunks = [checks[i : i + size] for i in range(0, len(checks), size)]
    with ProcessPoolExecutor(workers) as pool:
        return [ok for part in pool.map(verify_signatures, chunks) for ok in part]
