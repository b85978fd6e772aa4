"""The running node: the composition root, its driver, operator commands and node-side services.

Everything here is shell: it turns the core's decisions into I/O (store, links, events).
"""

from detente.node.clock import Clock, SystemClock
from detente.node.node import Node
from detente.node.operator import (
    AlreadyAcknowledged,
    DiskFull,
    KeyConflict,
    KeysExhausted,
    LateNotice,
    NodeError,
    NumberingHeld,
    UnknownMessage,
)

__all__ = [
    "AlreadyAcknowledged",
    "Clock",
    "DiskFull",
    "KeyConflict",
    "KeysExhausted",
    "LateNotice",
    "Node",
    "NodeError",
    "NumberingHeld",
    "SystemClock",
    "UnknownMessage",
]
