"""What the console's gettext catalogs cost at start-up: importing Babel's .po reader and
reading the template and the Russian and Ukrainian catalogs, once per process.

    uv run python bench/catalog_load.py [--runs 10]

Each run is a fresh Python process (so nothing is cached in memory) that imports
``detente.web.i18n``, then times the first ``t()`` call, which loads every catalog, and a
second call, which does not. Prints the median and worst of each. See docs/benchmarks.md.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import click

PROBE = """
import json, time
from detente.web.i18n import STRINGS, t
t0 = time.perf_counter(); t("ru", "inbox"); t1 = time.perf_counter(); t("uk", "inbox"); t2 = time.perf_counter()
print(json.dumps({"first_ms": (t1 - t0) * 1000, "next_ms": (t2 - t1) * 1000, "keys": len(STRINGS)}))
"""


@click.command()
@click.option("--runs", default=10, show_default=True, type=click.IntRange(1, 100))
def main(runs: int) -> None:
    samples = [
        json.loads(
            subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True, text=True).stdout
        )
        for _ in range(runs)
    ]
    first = [s["first_ms"] for s in samples]
    later = [s["next_ms"] for s in samples]
    print(
        f"keys {samples[0]['keys']}; first t() (import Babel, read 3 catalogs): "
        f"median {statistics.median(first):.1f} ms, worst {max(first):.1f} ms; "
        f"a later t(): median {statistics.median(later) * 1000:.1f} µs"
    )


if __name__ == "__main__":
    main()
