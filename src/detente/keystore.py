"""Where a node's signing key lives: a file (``keys/sign.pem``) or a PKCS#11 token.

Both give the rest of the node a ``core.keys.Signer`` and the same three steps of a rotation
(make the new key beside the current one, then, once the rotation entry is committed, keep the
old key aside and make the new one current), so that ``node.keyops`` and every caller that
signs never ask which kind they hold.

In a token (``[pkcs11]`` in config.toml) the private key is made inside the token and cannot
be extracted (CKA_SENSITIVE, not CKA_EXTRACTABLE); it signs with CKM_EDDSA. Keys are found by
label: the current one is ``key`` (default ``detente-sign``), a rotation's new key is
``<key>.new`` until it is committed, an older one ``<key>.old-<n>``, as the files are. The PIN
comes from ``pin_file`` or from the environment variable ``pin_env`` (default
``DETENTE_PKCS11_PIN``), never from the command line or config.toml itself.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from detente.core.keys import HeldKey, Signer, SigningKey, VerifyKey

DEFAULT_LABEL = "detente-sign"
DEFAULT_PIN_ENV = "DETENTE_PKCS11_PIN"
# The DER encoding of the Ed25519 curve's OID (1.3.101.112), as CKA_EC_PARAMS names it.
_ED25519_PARAMS = bytes.fromhex("06032b6570")


class KeyStoreError(ValueError):
    """The signing key cannot be loaded, made or moved as asked; says what to do."""


class KeyStore(Protocol):
    def load(self) -> Signer: ...

    def begin_rotation(self) -> Signer:
        """Make the next key beside the current one (not yet in use); refuses if one is pending."""
        ...

    def finish_rotation(self) -> str:
        """The rotation entry is committed: keep the old key aside, make the new one current.
        Returns where the old key is now kept."""
        ...

    def first_key(self) -> VerifyKey | None:
        """The party's first key, once it has rotated (its own card's anchor); None before."""
        ...

    def describe(self) -> str:
        """One line for ``detente doctor``: where the key is."""
        ...


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(path, 0o600)


class FileKeys:
    """``keys/sign.pem``; a rotation keeps the old key as ``sign.pem.old-<n>``."""

    def __init__(self, keys: Path) -> None:
        self.keys = keys
        self._old_copy = keys / "sign.pem.old-1"

    def load(self) -> SigningKey:
        return SigningKey.from_pem((self.keys / "sign.pem").read_bytes())

    def create(self) -> VerifyKey:
        key = SigningKey.generate()
        _write_private(self.keys / "sign.pem", key.to_pem())
        return key.public

    def begin_rotation(self) -> Signer:
        pending = self.keys / "sign.pem.new"
        if pending.exists():
            raise KeyStoreError(
                f"{pending} exists: a rotation was interrupted; inspect it before rotating again"
            )
        # The old key's copy is made before the rotation is committed, so no moment exists
        # when a committed rotation's old key is only in the file about to be replaced.
        n = 1
        while (self.keys / f"sign.pem.old-{n}").exists():
            n += 1
        self._old_copy = self.keys / f"sign.pem.old-{n}"
        _write_private(self._old_copy, self.load().to_pem())
        new = SigningKey.generate()
        _write_private(pending, new.to_pem())
        return new

    def finish_rotation(self) -> str:
        os.replace(self.keys / "sign.pem.new", self.keys / "sign.pem")
        return str(self._old_copy)

    def first_key(self) -> VerifyKey | None:
        first = self.keys / "sign.pem.old-1"
        return SigningKey.from_pem(first.read_bytes()).public if first.is_file() else None

    def describe(self) -> str:
        return (
            f"Ed25519 signing key in a file (keys/sign.pem), public {self.load().public.b64[:12]}…; "
            "keep the directory on an encrypted disk and an offline copy of the key"
        )


@dataclass(frozen=True)
class TokenSettings:
    module: str  # the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so
    token: str  # the token's label
    key: str = DEFAULT_LABEL
    pin_file: str | None = None
    pin_env: str = DEFAULT_PIN_ENV

    def pin(self) -> str:
        if self.pin_file:
            try:
                text = Path(self.pin_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise KeyStoreError(
                    f"cannot read the token's PIN from {self.pin_file}: {exc.strerror}"
                ) from exc
            if not text:
                raise KeyStoreError(f"the PIN file {self.pin_file} is empty")
            return text
        text = os.environ.get(self.pin_env, "").strip()
        if not text:
            raise KeyStoreError(
                f"the token's PIN is not set: put it in the environment variable {self.pin_env} "
                "(or name a pin_file in config.toml's [pkcs11])"
            )
        return text


# One loaded library and one logged-in session per token per process: PKCS#11 libraries are
# initialised once per process, and a token's login is shared by all of its sessions.
_SESSIONS: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


def _session(settings: TokenSettings) -> Any:
    import pkcs11
    from pkcs11 import exceptions as px

    with _LOCK:
        found = _SESSIONS.get((settings.module, settings.token))
        if found is not None:
            return found
        try:
            lib = pkcs11.lib(settings.module)
        except (px.PKCS11Error, OSError, RuntimeError) as exc:
            raise KeyStoreError(f"cannot load the PKCS#11 module {settings.module}: {exc!r}") from exc
        try:
            token = lib.get_token(token_label=settings.token)
        except (px.NoSuchToken, px.MultipleTokensReturned) as exc:
            raise KeyStoreError(
                f"no single token labelled {settings.token!r} in {settings.module}: check the label "
                "(softhsm2-util --show-slots, or the token's own tool)"
            ) from exc
        try:
            session = token.open(user_pin=settings.pin(), rw=True)
        except px.PinIncorrect as exc:
            raise KeyStoreError(f"the token {settings.token!r} refused the PIN") from exc
        except px.PKCS11Error as exc:
            raise KeyStoreError(f"cannot open the token {settings.token!r}: {exc!r}") from exc
        _SESSIONS[(settings.module, settings.token)] = session
        return session


class TokenKeys:
    """An Ed25519 key pair made and kept in a PKCS#11 token, found by label."""

    def __init__(self, settings: TokenSettings) -> None:
        self.settings = settings

    def _pair(self, label: str) -> tuple[Any, Any] | None:
        from pkcs11 import Attribute, KeyType, ObjectClass

        session = _session(self.settings)
        with _LOCK:
            found = []
            for cls in (ObjectClass.PUBLIC_KEY, ObjectClass.PRIVATE_KEY):
                objs = list(
                    session.get_objects(
                        {Attribute.CLASS: cls, Attribute.LABEL: label, Attribute.KEY_TYPE: KeyType.EC_EDWARDS}
                    )
                )
                if len(objs) > 1:
                    raise KeyStoreError(f"the token holds {len(objs)} keys labelled {label!r}; expected one")
                found.append(objs[0] if objs else None)
        public, private = found
        if public is None and private is None:
            return None
        if public is None or private is None:
            raise KeyStoreError(f"the token holds only half of the key pair labelled {label!r}")
        return public, private

    def _held(self, label: str) -> HeldKey:
        from pkcs11 import Attribute, Mechanism

        pair = self._pair(label)
        if pair is None:
            raise KeyStoreError(
                f"the token {self.settings.token!r} holds no signing key labelled {label!r}: "
                "was the node made with this token (detente init --pkcs11)?"
            )
        public, private = pair
        with _LOCK:
            point = bytes(public[Attribute.EC_POINT])
        # CKA_EC_POINT is the point as a DER OCTET STRING (04 20 || key); some tokens give it bare.
        raw = point[2:] if len(point) == 34 and point[:2] == b"\x04\x20" else point
        try:
            verify = VerifyKey.from_raw(raw)
        except ValueError as exc:
            raise KeyStoreError(f"the key labelled {label!r} in the token is not an Ed25519 key") from exc

        def sign_bytes(data: bytes) -> bytes:
            # One session serves every thread (the store's writer signs, so does the event loop).
            with _LOCK:
                return bytes(private.sign(data, mechanism=Mechanism.EDDSA))

        return HeldKey(verify, sign_bytes)

    def _generate(self, label: str) -> HeldKey:
        from pkcs11 import Attribute, KeyType

        if self._pair(label) is not None:
            raise KeyStoreError(f"the token already holds a key labelled {label!r}; refusing to make another")
        session = _session(self.settings)
        with _LOCK:
            params = session.create_domain_parameters(
                KeyType.EC_EDWARDS, {Attribute.EC_PARAMS: _ED25519_PARAMS}, local=True
            )
            params.generate_keypair(
                store=True,
                label=label,
                private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            )
        return self._held(label)

    def _relabel(self, old: str, new: str) -> None:
        from pkcs11 import Attribute

        pair = self._pair(old)
        assert pair is not None, f"no key labelled {old!r}"
        with _LOCK:
            for obj in pair:
                obj[Attribute.LABEL] = new

    def load(self) -> HeldKey:
        return self._held(self.settings.key)

    def create(self) -> VerifyKey:
        return self._generate(self.settings.key).public

    def begin_rotation(self) -> Signer:
        pending = f"{self.settings.key}.new"
        if self._pair(pending) is not None:
            raise KeyStoreError(
                f"the token holds a key labelled {pending!r}: a rotation was interrupted; inspect it "
                "before rotating again"
            )
        return self._generate(pending)

    def finish_rotation(self) -> str:
        n = 1
        while self._pair(f"{self.settings.key}.old-{n}") is not None:
            n += 1
        kept = f"{self.settings.key}.old-{n}"
        self._relabel(self.settings.key, kept)
        self._relabel(f"{self.settings.key}.new", self.settings.key)
        return f"the token {self.settings.token!r}, labelled {kept!r}"

    def first_key(self) -> VerifyKey | None:
        if self._pair(f"{self.settings.key}.old-1") is None:
            return None
        return self._held(f"{self.settings.key}.old-1").public

    def describe(self) -> str:
        key = self.load()
        return (
            f"Ed25519 signing key in the PKCS#11 token {self.settings.token!r} (label "
            f"{self.settings.key!r}, not extractable), public {key.public.b64[:12]}…"
        )
