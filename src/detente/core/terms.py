"""One vocabulary: the names and limits the protocol, the store, the API and the console share.

Each is defined once here; modules that need one import it rather than spelling it again.
"""

from __future__ import annotations

from typing import Final

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

RECORD_BURST: Final = 20  # events of one kind stored per peer per minute; all are counted
RECORD_WINDOW: Final = 60.0
