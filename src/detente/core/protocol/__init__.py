"""The link protocol as pure machines: typed frames in, typed actions out (sans-I/O, as h11).

``frames`` parses and writes every frame type with its limits; ``actions`` lists what a machine
may ask the shell for; ``session.PeerSession`` owns one pinned peer's machines (hello, delivery,
supervision, witnessing, inclusion, peer keys, catalog) behind a single frame-handler table.
Nothing here does I/O or reads a clock: the node's driver passes ``now`` in and carries the
actions out.
"""
