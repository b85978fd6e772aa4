"""Channel benchmark: two real nodes on loopback, full durability on both sides.

    uv run python bench/channel.py [--messages 1000] [--burst 10000] [--db postgresql://…] [--no-pq] [--json]

The same measurement as `detente bench`; see docs/benchmarks.md for the figures.
"""

from __future__ import annotations

import json
import sys

import click

from detente.devtools.bench import run_bench


@click.command()
@click.option("--messages", default=1000, show_default=True)
@click.option("--burst", default=10000, show_default=True)
@click.option("--db", default=None)
@click.option("--pq/--no-pq", default=True, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def main(messages: int, burst: int, db: str | None, pq: bool, as_json: bool) -> None:
    result = run_bench(messages, burst, db, pq)
    if as_json:
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        print(result["summary"])


if __name__ == "__main__":
    main()
