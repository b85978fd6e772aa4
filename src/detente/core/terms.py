"""One vocabulary: the names and limits the protocol, the store, the API and the console share.

Each is defined once here; modules that need one import it rather than spelling it again.
"""

from __future__ import annotations

from typing import Final, Literal

# -- what people choose ------------------------------------------------------------------------
# Each Literal and its tuple spell the same words in the same order; a test holds them together.

Precedence = Literal["flash", "immediate", "priority", "routine"]
PRECEDENCES: Final[tuple[Precedence, ...]] = ("flash", "immediate", "priority", "routine")
# Highest first: a FLASH is written, sent and listed before routine traffic.
RANK: Final[dict[str, int]] = {p: i for i, p in enumerate(PRECEDENCES)}

# Seconds a recipient has to acknowledge, unless a node's config.toml says otherwise.
DEFAULT_DEADLINES: Final[dict[str, float]] = {  # one per precedence
    "flash": 600.0,
    "immediate": 1800.0,
    "priority": 10800.0,
    "routine": 21600.0,
}

Lang = Literal["en", "ru", "uk"]
LANGS: Final[tuple[Lang, ...]] = ("en", "ru", "uk")

# A person's answer to a message: understood, will comply, unable to comply, or refused.
# "will_comply" came last to the protocol; an ack signed before it names one of the others and
# stays valid (the set only grew).
Answer = Literal["understood", "will_comply", "unable", "refused"]
ANSWERS: Final[tuple[Answer, ...]] = ("understood", "will_comply", "unable", "refused")

# How far a translation may be relied on: a quick reading, checked for use, agreed wording.
Grade = Literal["sight", "working", "official"]
GRADES: Final[tuple[Grade, ...]] = ("sight", "working", "official")

# Console roles; "translator" is also what a person's signed translation names as its maker.
Role = Literal["operator", "releaser", "translator", "auditor", "admin"]
ROLES: Final[tuple[Role, ...]] = ("operator", "releaser", "translator", "auditor", "admin")

# -- entries ---------------------------------------------------------------------------------------

# Kinds that travel on a (sender -> recipient) stream with sequence numbers and receipts.
StreamKind = Literal["message", "ack", "linktest", "translation"]
STREAM_KINDS: Final[tuple[StreamKind, ...]] = ("message", "ack", "linktest", "translation")
KINDS: Final[tuple[str, ...]] = (*STREAM_KINDS, "receipt", "card", "release")

# -- the link protocol ---------------------------------------------------------------------------

PROTOCOL: Final = 1  # the "v" of a hello
HANDSHAKE_TIMEOUT: Final = 10.0  # seconds for TLS and the hello

# Bounds on what one frame may carry. Each is the largest honest use with room to spare: a
# Merkle path or consistency proof over 2^64 entries has at most 64 hashes (128 for a
# consistency proof's two sides), a hello announces few key events, a proof request is paged.
MAX_PATH: Final = 64  # hashes in an inclusion path
MAX_CONSISTENCY: Final = 128  # hashes in a consistency proof
MAX_KEYEVENTS: Final = 64  # key events announced in a hello, or proven in a checkpoint
MAX_PROVE: Final = 500  # entry hashes asked about in one ``prove`` (and answered in one ``proof``)
MAX_NEED: Final = 1000  # sequence numbers asked for again in one ``need``
MAX_NOTE: Final = 96 * 1024  # bytes of a checkpoint note (base64 on the wire)
MAX_HELD_FORMATS: Final = 1000  # formats listed in a hello
MAX_DETAIL: Final = 500  # characters of a peer's error detail kept

# -- events ----------------------------------------------------------------------------------------

CLOCK_SKEW_TOLERANCE: Final = 300.0  # seconds a peer's clock may differ from ours unremarked
RECORD_BURST: Final = 20  # events of one kind stored per peer per minute; all are counted
RECORD_WINDOW: Final = 60.0
