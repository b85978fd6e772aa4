"""Realistic sample messages for every built-in format, for tests, the demo and training.

Owns loading of the ``samples/*.json`` files shipped with the package. Each sample names its
format, version, author party and language, says in ``note`` what it depicts, and holds the
fields. Personal data in samples is fictitious.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Sample:
    name: str
    format_id: str
    version: int
    lang: str
    author: str
    note: str
    fields: dict[str, Any]


def sample_names() -> tuple[str, ...]:
    folder = resources.files("detente.core.formats").joinpath("samples")
    return tuple(sorted(e.name[:-5] for e in folder.iterdir() if e.name.endswith(".json")))


def sample(name: str) -> Sample:
    """The sample called ``name`` (a fresh copy each time, safe to change)."""
    path = resources.files("detente.core.formats").joinpath("samples", f"{name}.json")
    doc = json.loads(path.read_bytes().decode("utf-8"))
    return Sample(name, doc["format"], doc["version"], doc["lang"], doc["author"], doc["note"], doc["fields"])
