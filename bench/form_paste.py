"""Time the console's form layer on a pasted list of 1,000 persons (issue 10.5).

Run: uv run --frozen --no-sync python bench/form_paste.py
Prints the best of 5 runs: pasting the list into rows and converting/checking every row
(``web.console.forms``), then the catalog's validation of the whole message.
"""

from __future__ import annotations

import time

from detente.core.formats import builtin_catalog
from detente.web.console import forms

ROWS = 1_000


def main() -> None:
    catalog = builtin_catalog()
    fmt = catalog.get("prisoner-exchange-list", 1)
    persons = next(f for f in fmt.fields if f.name == "persons")
    text = "".join(
        f"KOVALENKO Andrii {chr(65 + i % 26)};КОВАЛЕНКО Андрій;17.04.2001;Військовослужбовець;junior sergeant\n"
        for i in range(ROWS)
    )
    runs = []
    for _ in range(5):
        values: dict[str, list[str]] = {"list_id": ["UA-GS/PW/1"], "purpose": ["requested"]}
        t0 = time.perf_counter()
        forms.paste_into(persons, text, values)
        fields, problems, _ = forms.parse(fmt, "uk", values)
        t1 = time.perf_counter()
        checked, refused = forms.check(catalog, fmt, fields, "uk", "uk")
        t2 = time.perf_counter()
        assert not problems and not refused and checked is not None and len(checked["persons"]) == ROWS
        runs.append((t1 - t0, t2 - t1))
    paste, validate = min(runs)
    print(
        f"{ROWS} rows: paste and per-row checks {paste * 1000:.1f} ms; catalog validation {validate * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
