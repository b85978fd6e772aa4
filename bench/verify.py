"""Benchmark: `verify_bundle` throughput on a bundle of N entries next to raw Ed25519 verification.

    uv run python bench/verify.py [N]

Builds a synthetic two-party record (messages both ways, receipts) of N entries as one
party's bundle, then measures on this machine, in this process:
  - the raw Ed25519 verification rate (cryptography/OpenSSL) over the same N signatures;
  - verify_bundle on the bundle bytes (entries/s, and peak memory through tracemalloc).
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _bundles import bundle_of, exchange
from detente.core.bundle import verify_bundle
from detente.core.encoding import signing_input
from detente.export.parallel import verify_in_parallel


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    t = time.perf_counter()
    a, b = exchange(n // 2)
    data = bundle_of(a, b, checkpoints=4)
    print(
        f"built a bundle of {len(a.held)} entries, {len(data) / 1e6:.1f} MB, in {time.perf_counter() - t:.1f} s"
    )

    keys = {a.name: a.key.public, b.name: b.key.public}
    pairs = []
    for s in a.held:
        who = a.name if s.hash in a.ledger else b.name
        pairs.append((keys[who]._public, signing_input(s.kind, s.body), s.sig))
    # CPU time of this process, not wall time: on a shared machine the two rates then compare
    # like with like. Alternated three times; the ratio is each round's, the rates the best.
    raws, rates, ratios = [], [], []
    for _ in range(3):
        t = time.process_time()
        for pub, msg, sig in pairs:
            pub.verify(sig, msg)
        raws.append(len(pairs) / (time.process_time() - t))
        t = time.process_time()
        verdict = verify_bundle(data)
        elapsed = time.process_time() - t
        assert verdict.ok, verdict.report()
        rates.append(verdict.entries / elapsed)
        ratios.append(rates[-1] / raws[-1])
    raw, rate = max(raws), max(rates)

    # What `detente verify` runs: the same checks, signatures spread over the cores.
    t = time.perf_counter()
    verdict = verify_bundle(data, verify_in_parallel)
    elapsed_cli = time.perf_counter() - t
    assert verdict.ok, verdict.report()
    rate_cli = verdict.entries / elapsed_cli

    tracemalloc.start()
    verify_bundle(data)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"raw Ed25519 verification:  {raw:10,.0f} signatures/s")
    print(f"verify_bundle:             {rate:10,.0f} entries/s  ({verdict.entries} entries, CPU time)")
    print(
        f"ratio:                     {rate / raw:10.0%}  (one core; rounds: {', '.join(f'{r:.1%}' for r in ratios)})"
    )
    print(
        f"detente verify:            {rate_cli:10,.0f} entries/s  ({elapsed_cli:.2f} s; signatures on "
        f"{os.cpu_count()} cores)"
    )
    print(f"ratio:                     {rate_cli / raw:10.0%}  (of the one-core raw rate; target >= 75%)")
    print(f"peak memory (tracemalloc): {peak / 1e6:10.1f} MB  (bundle itself {len(data) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
