"""Canonical encoding: the exact bytes detente signs, stores, sends and verifies.

Every signed value is RFC 8785 (JSON Canonicalization Scheme) JSON. The bytes a party signs
are a per-kind domain-separation prefix followed by that JSON, so a signature over a receipt
can never be replayed as a signature over a message. Integers are kept below 2**53 by the
models (RFC 8785 cannot carry larger ones exactly); anything larger travels as a string.

The encoder and the strict parser agree: whatever ``canonical`` writes for an object,
``parse_canonical`` accepts and reads back as an equal object. So ``canonical`` refuses up front
what the parser would refuse later: nesting deeper than ``MAX_DEPTH``, and whole-number floats
beyond 2**53 - 1 (ECMAScript writes ``1e16`` as ``10000000000000000``, which reads back as an
integer too large to carry exactly). A property test over generated objects holds the two
together.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import rfc8785

MAX_SAFE_INT = 2**53 - 1
MAX_DEPTH = 32  # levels of objects and arrays, the top-level object included
# From here up, ECMAScript (so RFC 8785) writes a whole number with an exponent, which reads
# back as a float; below it, as bare digits, which read back as an integer.
_EXPONENT_FROM = 1e21


class EncodingError(ValueError):
    """The bytes are not the canonical encoding of a JSON object."""


def canonical(value: Any) -> bytes:
    """Return the RFC 8785 canonical JSON bytes of ``value``.

    Refuses (``EncodingError``) what RFC 8785 cannot encode and what ``parse_canonical`` would
    not read back: see the module's docstring.
    """
    try:
        if _plain(value):
            # For values without floats and without keys beyond the BMP, RFC 8785 output is
            # what the C encoder writes with sorted keys and no ASCII escaping: the same bytes,
            # about ten times faster. A property test holds the two paths to identical output.
            out = _FAST.encode(value).encode("utf-8")
        else:
            _check_floats(value)
            out = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, UnicodeError) as exc:
        # UnicodeError: a lone surrogate in a key, met while sorting keys by UTF-16 code units.
        raise EncodingError(f"value cannot be canonically encoded: {exc}") from exc
    except RecursionError as exc:
        raise EncodingError(f"value nests deeper than {MAX_DEPTH} levels") from exc
    # Counting brackets is cheap; only a body that might be too deep is scanned properly.
    if out.count(b"[") + out.count(b"{") > MAX_DEPTH:
        _check_depth(out.decode("utf-8"), MAX_DEPTH, "value")
    return out


def _check_floats(value: Any) -> None:
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is dict:
            stack.extend(v.values())
        elif t is list:
            stack.extend(v)
        elif t is float and v.is_integer() and MAX_SAFE_INT < abs(v) < _EXPONENT_FROM:
            raise EncodingError(
                f"value cannot be canonically encoded: {v!r} is a whole number beyond 2**53 - 1, "
                "which JSON cannot carry exactly (send it as a string)"
            )


_FAST = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False)


def _plain(value: Any) -> bool:
    """True if ``value`` holds only what the fast path encodes exactly as RFC 8785 does."""
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is str:
            if not v.isascii() and _SURROGATE.search(v):
                return False
        elif t is dict:
            for k in v:
                # UTF-16 order equals code point order unless a key leaves the BMP.
                if type(k) is not str or not (k.isascii() or _BMP_ONLY.fullmatch(k)):
                    return False
            stack.extend(v.values())
        elif t is list:
            stack.extend(v)
        elif t is int:
            if not -MAX_SAFE_INT <= v <= MAX_SAFE_INT:
                return False
        elif v is not None and t is not bool:
            return False
    return True


_SURROGATE = re.compile("[\ud800-\udfff]")

_BMP_ONLY = re.compile("[\u0000-\ud7ff\ue000-\uffff]*")


def domain(kind: str) -> bytes:
    """The domain-separation prefix for entries of ``kind``."""
    return b"detente/v1/" + kind.encode("ascii") + b"\n"


def signing_input(kind: str, body: bytes) -> bytes:
    """The exact bytes an Ed25519 signature covers for an entry of ``kind``."""
    return domain(kind) + body


def parse_canonical(body: bytes, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """Parse ``body`` as a JSON object and insist it is in canonical form.

    Refusing non-canonical bytes keeps one meaning to one byte string: two parties can never
    hold different bytes for the same signed statement.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EncodingError("body is not UTF-8") from exc
    if body.count(b"[") + body.count(b"{") > max_depth:
        _check_depth(text, max_depth)
    try:
        value = _DECODER.decode(text)
    except _HasFloat:
        value = _loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise EncodingError(f"body is not JSON: {exc}") from exc
    else:
        if type(value) is dict and not _LONG_DIGITS.search(body) and not _BEYOND_BMP.search(body):
            # No float, no integer of 16 digits or more, no character beyond the BMP written
            # as such: if the C encoder gives back exactly these bytes, no string or key in
            # ``value`` leaves the BMP either (one would come out as raw 4-byte UTF-8) and none
            # is a lone surrogate (it could not be encoded), so ``_plain`` holds and this is the
            # very output ``canonical`` would produce. If it gives other bytes, the body is not
            # canonical: either ``_plain`` holds and those bytes are the canonical form, or a
            # character beyond the BMP came from a \u escape, which canonical form never uses.
            # A lone surrogate takes the general path, which says why it is refused.
            try:
                fast = _FAST.encode(value).encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: the general path says why
                fast = None
            if fast is not None:
                if fast != body:
                    raise EncodingError("body is not in RFC 8785 canonical form")
                return value
    if not isinstance(value, dict):
        raise EncodingError("body is not a JSON object")
    if canonical(value) != body:
        raise EncodingError("body is not in RFC 8785 canonical form")
    return value


class _HasFloat(Exception):
    pass


def _flag_float(text: str) -> Any:
    raise _HasFloat


def _loads(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise EncodingError(f"body is not JSON: {exc}") from exc


_LONG_DIGITS = re.compile(rb"[0-9]{16}")
# The first byte of a 4-byte UTF-8 sequence (or a byte no valid UTF-8 holds): a character
# beyond the BMP, whose UTF-16 order can differ from the code point order the C encoder sorts by.
_BEYOND_BMP = re.compile(rb"[\xf0-\xff]")


def _reject_constant(name: str) -> Any:
    raise EncodingError(f"{name} is not allowed")


# One decoder, built once: json.loads with keyword arguments builds a new one for every call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_flag_float)


def _check_depth(text: str, max_depth: int, what: str = "body") -> None:
    # A cheap scan before json.loads so hostile nesting is refused without recursion.
    depth = 0
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                raise EncodingError(f"{what} nests deeper than {max_depth} levels")
        elif ch in "]}":
            depth -= 1


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, *, length: int | None = None) -> bytes:
    """Strict base64 decoding; ``length`` checks the decoded size."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise EncodingError("not valid base64") from exc
    if length is not None and len(data) != length:
        raise EncodingError(f"expected {length} bytes, got {len(data)}")
    return data
