"""Invisible characters made visible: what a reader is shown of text a peer signed.

A signed text may hold characters that draw nothing themselves but change how the rest is drawn:
bidirectional overrides and isolates (``"14:00 \\u202e00:60 sdne"`` is drawn "14:00 ends 06:00"),
marks, zero-width characters, and control characters (an escape sequence rewrites a terminal).
The record keeps the signed bytes unchanged; every place a person reads the text (console, CLI,
API view, PDF transcript) shows each such character as a visible token, e.g. ``⟨RLO⟩``, and flags
the message. This module owns which characters those are, their tokens, and the flag.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass

# Short names a reader may look up; any other hidden character is shown by its code point.
_NAMES = {
    0x061C: "ALM",
    0x200B: "ZWSP",
    0x200C: "ZWNJ",
    0x200D: "ZWJ",
    0x200E: "LRM",
    0x200F: "RLM",
    0x202A: "LRE",
    0x202B: "RLE",
    0x202C: "PDF",
    0x202D: "LRO",
    0x202E: "RLO",
    0x2060: "WJ",
    0x2066: "LRI",
    0x2067: "RLI",
    0x2068: "FSI",
    0x2069: "PDI",
    0xFEFF: "ZWNBSP",
    0x00AD: "SHY",
    0x180E: "MVS",
}
# Kept as they are: a line break and a tab draw as space, and a text may have lines.
_KEPT = {"\n", "\t"}
# Categories that draw nothing of their own: format (Cf), control (Cc), unassigned code points,
# private use and surrogates (a renderer is free to draw these as anything, or nothing).
_HIDDEN_CATEGORIES = {"Cf", "Cc", "Cn", "Co", "Cs", "Zl", "Zp"}
# Drawn as blank although not in those categories: the Hangul fillers and the braille blank.
_BLANK = {0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800}


def is_hidden(ch: str) -> bool:
    """Whether a reader could not see this character, or see what it does to the others."""
    if ch in _KEPT:
        return False
    code = ord(ch)
    if code in _NAMES or code in _BLANK:
        return True
    # Variation selectors and tag characters only change the look of a neighbour or nothing.
    if 0xFE00 <= code <= 0xFE0F or 0xE0000 <= code <= 0xE01EF:
        return True
    return unicodedata.category(ch) in _HIDDEN_CATEGORIES


def token(ch: str) -> str:
    """The visible stand-in for one hidden character."""
    code = ord(ch)
    name = _NAMES.get(code)
    return f"⟨{name}⟩" if name else f"⟨U+{code:04X}⟩"


def reveal(text: str) -> str:
    """``text`` with each hidden character replaced by its token; other characters unchanged."""
    if text.isprintable():  # the common case, decided in C
        return text
    return "".join(token(ch) if is_hidden(ch) else ch for ch in text)


@dataclass(frozen=True)
class Hidden:
    """One kind of hidden character found in a text, and how often."""

    code: str  # "202E"
    token: str  # "⟨RLO⟩"
    count: int


def find_hidden(text: str) -> list[Hidden]:
    """The hidden characters in ``text``, in code point order; empty when there are none."""
    if text.isprintable():
        return []
    counts = Counter(ch for ch in text if is_hidden(ch))
    return [Hidden(f"{ord(ch):04X}", token(ch), n) for ch, n in sorted(counts.items())]


def strings_in(value: object) -> list[str]:
    """Every string inside a JSON value (keys included), depth first, for flagging a message."""
    out: list[str] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for k, item in v.items():
                out.append(str(k))
                stack.append(item)
        elif isinstance(v, list):
            stack.extend(v)
    return out


def hidden_in(value: object) -> list[Hidden]:
    """The hidden characters in every string of a JSON value, merged."""
    counts: Counter[str] = Counter()
    for s in strings_in(value):
        if not s.isprintable():
            counts.update(ch for ch in s if is_hidden(ch))
    return [Hidden(f"{ord(ch):04X}", token(ch), n) for ch, n in sorted(counts.items())]
