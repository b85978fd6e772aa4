"""The wire format did not change with the protocol engine: frames captured from the node as it
was before (tests/wire/frames-v1.json: one of each type, from two real nodes; ``error``,
``need`` and ``witnessed`` transcribed from that node's code) parse, and re-encode to exactly
the same objects, so an old node and a new node understand each other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detente.core.protocol.frames import parse_frame, parse_hello

FROZEN = json.loads((Path(__file__).parent / "wire" / "frames-v1.json").read_text())


@pytest.mark.parametrize("name", sorted(k for k in FROZEN if k != "hello"))
def test_a_frame_of_the_previous_node_parses_and_reencodes_unchanged(name: str):
    obj = FROZEN[name]
    assert parse_frame(obj).to_wire() == obj


def test_the_previous_nodes_hello_parses_and_reencodes_unchanged():
    obj = FROZEN["hello"]
    assert parse_hello(obj, obj["party"]).to_wire() == obj


def test_every_frame_type_of_the_previous_node_is_covered():
    types = {name.split(":")[0] for name in FROZEN}
    assert types == {
        "hello",
        "entry",
        "receipt",
        "need",
        "hb",
        "checkpoint",
        "cosignature",
        "witnessed",
        "prove",
        "proof",
        "error",
    }
