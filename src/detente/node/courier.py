"""The courier path: signed entries and receipts carried as a file when no network path works.

``courier out`` writes what a peer lacks: every entry of ours still unreceipted by it (the
session's outbox, exactly as signed) and our receipts for its latest entries. ``courier in`` at
the other side feeds each line to that peer's ``PeerSession.on_frame``, the same machine and the
same checks as a frame read from the link (signatures, sender, addressee, sequence numbers,
receipts matched to what was sent, frame and flood budgets, storage quotas), through the driver
that carries out the actions. Nothing is trusted from the file's header: it only says which
session to feed, and every entry must be signed by that session's peer. Whichever path brings an
entry first, the store's (peer, seq) key records it once; a resend on the link is answered with
the stored receipt, and a receipt already held is counted and dropped.

File format (UTF-8 JSON lines): a header ``{"kind": "detente-courier", "v": 1, "from", "to",
"made", "frames"}``, then one link frame per line (``entry`` or ``receipt``). Bounded: at most
``MAX_BYTES`` bytes, ``MAX_FRAMES`` frames, each line at most the node's ``max_frame``.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from detente.core.entries import Signed, timestamp
from detente.core.protocol.actions import Persist
from detente.core.protocol.frames import EntryFrame, ReceiptFrame
from detente.core.protocol.txns import RecordReceipt
from detente.store import courier as store_courier

if TYPE_CHECKING:
    from detente.node.node import Node

KIND = "detente-courier"
MAX_BYTES = 64 * 1024 * 1024
MAX_FRAMES = 50_000
RECEIPTS_CARRIED = 10_000  # our receipts for the peer's latest entries that a file carries
SETTLE_WITHIN = 120.0  # seconds the node waits for the file's transactions to commit


class CourierError(ValueError):
    """A courier file this node will not take, with the reason in one sentence."""


async def courier_out(node: Node, party: str) -> bytes:
    session = node.peers.get(party)
    if session is None:
        raise CourierError(f"{party} is not a pinned peer of {node.party}")
    entries = [EntryFrame(session.outbox[seq]).to_wire() for seq in sorted(session.outbox)]
    receipts = await node.store.read(lambda c: store_courier.receipts_for(c, party, RECEIPTS_CARRIED))
    frames = entries + [ReceiptFrame(Signed("receipt", body, sig)).to_wire() for body, sig in receipts]
    frames = frames[:MAX_FRAMES]
    header = {
        "kind": KIND,
        "v": 1,
        "from": node.party,
        "to": party,
        "made": timestamp(node.clock.now()),
        "frames": len(frames),
    }
    lines = [json.dumps(header, ensure_ascii=False, separators=(",", ":"))]
    lines += [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in frames]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _parse(node: Node, data: bytes) -> tuple[str, list[dict[str, Any]]]:
    if len(data) > MAX_BYTES:
        raise CourierError(f"the courier file is {len(data)} bytes; at most {MAX_BYTES} are taken")
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise CourierError("the courier file is empty")
    if len(lines) > MAX_FRAMES + 1:
        raise CourierError(f"the courier file has {len(lines) - 1} frames; at most {MAX_FRAMES} are taken")
    for n, line in enumerate(lines, 1):
        if len(line) > node.cfg.max_frame:
            raise CourierError(f"line {n} is longer than the node's max_frame ({node.cfg.max_frame} bytes)")
    try:
        header = json.loads(lines[0])
        frames = [json.loads(line) for line in lines[1:]]
    except (ValueError, UnicodeDecodeError) as exc:
        raise CourierError(f"not a courier file: {exc}") from exc
    if not isinstance(header, dict) or header.get("kind") != KIND or header.get("v") != 1:
        raise CourierError("not a courier file (its first line is not a detente-courier v1 header)")
    sender, to = header.get("from"), header.get("to")
    if to != node.party:
        raise CourierError(f"the courier file is addressed to {to!r}, not to {node.party}")
    if not isinstance(sender, str) or sender not in node.peers:
        raise CourierError(f"the courier file comes from {sender!r}, which is not a pinned peer")
    if header.get("frames") != len(frames):
        raise CourierError(f"the header counts {header.get('frames')!r} frames, the file holds {len(frames)}")
    for n, frame in enumerate(frames, 2):
        if not isinstance(frame, dict) or frame.get("t") not in ("entry", "receipt"):
            raise CourierError(f"line {n} is not an entry or a receipt")
    return sender, frames


async def courier_in(node: Node, data: bytes) -> dict[str, Any]:
    """Take a courier file in through the peer's session. Refused whole (nothing stored) when
    the file itself is wrong; frame by frame, as on the link, when a frame is."""
    sender, frames = _parse(node, data)
    if node.hold is not None:
        raise CourierError("this node is held after a restore: it takes nothing in until it is reconciled")
    session = node.peers[sender]
    refused_before = sum(session.refused.values())
    receipted_before = session.counters.get("receipted", 0)
    duplicates_before = session.counters.get("duplicate-receipts", 0)
    entry_seqs: list[int] = []
    awaited: set[int] = set()  # our seqs whose receipt is being recorded
    for frame in frames:
        now = node.clock.now()
        actions = session.on_frame(frame, now)
        for action in actions:
            if isinstance(action, Persist) and isinstance(action.txn, RecordReceipt):
                awaited.add(action.txn.seq)
        seq = _seq_for(frame, node.party)
        if seq is not None:
            entry_seqs.append(seq)
        node.driver.execute(session, actions)
        wait = session.pace(node.clock.now())
        if wait > 0:
            await asyncio.sleep(wait)
    # The file's transactions run as the link's do; wait (bounded) until they have committed.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_WITHIN
    while loop.time() < deadline and (session.accepting > 0 or awaited & set(session.outbox)):
        await asyncio.sleep(0.05)
    held = await node.store.read(lambda c: store_courier.held_seqs(c, sender, sorted(set(entry_seqs))))
    return {
        "from": sender,
        "frames": len(frames),
        "entries": len(entry_seqs),
        "entries_held": len(held),
        "receipts_recorded": session.counters.get("receipted", 0) - receipted_before,
        "receipts_already_held": session.counters.get("duplicate-receipts", 0) - duplicates_before,
        "refused": sum(session.refused.values()) - refused_before,
        "settled": session.accepting == 0 and not awaited & set(session.outbox),
    }


def _seq_for(frame: dict[str, Any], us: str) -> int | None:
    """The sequence number an entry frame claims in our stream (for the count of what is held;
    the session has already judged the frame itself)."""
    if frame.get("t") != "entry":
        return None
    try:
        body = json.loads(str(frame.get("body", "")))
        seq = body["seq"][us]
    except (ValueError, KeyError, TypeError):
        return None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None
