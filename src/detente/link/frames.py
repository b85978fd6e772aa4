"""Frames on a link: a 4-byte big-endian length, then one JSON object.

The length comes first so an oversized frame is refused before a byte of it is buffered.
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

HEADER = struct.Struct(">I")


class FrameError(ValueError):
    """A frame is oversized or not a JSON object."""


async def read_frame(reader: asyncio.StreamReader, limit: int) -> dict[str, Any]:
    header = await reader.readexactly(HEADER.size)
    (size,) = HEADER.unpack(header)
    check_size(size, limit)
    return decode_frame(await reader.readexactly(size))


def check_size(size: int, limit: int) -> None:
    """Refuse a frame by its announced size, before any of it is buffered."""
    if size > limit:
        raise FrameError(f"frame of {size} bytes exceeds the limit of {limit} bytes")


def decode_frame(data: bytes) -> dict[str, Any]:
    """The frame whose JSON body is ``data`` (the length header already taken off)."""
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise FrameError("frame is not JSON") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("t"), str):
        raise FrameError("frame is not a JSON object with a type")
    return obj


def encode_frame(obj: dict[str, Any]) -> bytes:
    data = encode_body(obj)
    return HEADER.pack(len(data)) + data


def encode_body(obj: dict[str, Any]) -> bytes:
    """The frame's JSON body, without the length header."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
