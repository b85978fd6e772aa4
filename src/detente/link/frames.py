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
    if size > limit:
        raise FrameError(f"frame of {size} bytes exceeds the limit of {limit} bytes")
    data = await reader.readexactly(size)
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise FrameError("frame is not JSON") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("t"), str):
        raise FrameError("frame is not a JSON object with a type")
    return obj


def encode_frame(obj: dict[str, Any]) -> bytes:
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HEADER.pack(len(data)) + data
