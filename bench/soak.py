"""Simulation soak: many seeds of the whole-node simulation, over several processes.

    uv run python bench/soak.py [--seeds 0..9999] [--workers 2] [--hours 3] [--json]

Each seed runs real nodes on the in-memory network and virtual clock (``detente.devtools.sim``)
and checks every invariant; a failure prints its seed and the command that replays it. The
result for guarantee 1 is in docs/guarantees.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from detente.devtools import sim


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0..9999", help="A..B, B included")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--hours", type=float, default=3.0, help="start no new seed after this long")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    a, _, b = args.seeds.partition("..")
    seeds = range(int(a), int(b) + 1)
    started = time.monotonic()
    count = {"done": 0, "failed": 0}

    def progress(o: sim.Outcome) -> None:
        count["done"] += 1
        if not o.ok:
            count["failed"] += 1
            print(f"FAILED seed {o.seed} ({len(o.parties)} nodes): {o.violations[0]}", flush=True)
            print(f"  replay: detente-sim --seed {o.seed} --parties {len(o.parties)} --verbose", flush=True)
        if count["done"] % 500 == 0:
            rate = count["done"] / (time.monotonic() - started)
            print(f"{count['done']} seeds, {count['failed']} failed, {rate:.2f} seeds/s", flush=True)

    outcomes = sim.run_seeds(seeds, workers=args.workers, time_limit=args.hours * 3600, on_outcome=progress)
    elapsed = time.monotonic() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    failed = [o.seed for o in outcomes if not o.ok]
    result = {
        "seeds": len(outcomes),
        "first": outcomes[0].seed if outcomes else None,
        "last": outcomes[-1].seed if outcomes else None,
        "three_nodes": sum(len(o.parties) == 3 for o in outcomes),
        "failed": failed,
        "seconds": round(elapsed, 1),
        "seeds_per_s": round(len(outcomes) / elapsed, 2),
        "cpu_s_per_seed": round((children.ru_utime + children.ru_stime) / max(1, len(outcomes)), 3),
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['seeds']} seeds ({result['three_nodes']} with 3 nodes), {len(failed)} failed "
            f"{failed or ''}, {elapsed:.0f} s, {result['seeds_per_s']} seeds/s, "
            f"{result['cpu_s_per_seed']} CPU s per seed"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
