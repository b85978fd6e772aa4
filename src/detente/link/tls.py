"""TLS material and contexts: self-signed Ed25519 certificates, pinned by SPKI hash.

Each node presents its own self-signed certificate and trusts exactly the certificates of the
peers it has pinned; after the handshake the SPKI hash of the presented certificate names the
party. There is no certificate authority to trust or to compromise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def make_certificate(party: str, key: Ed25519PrivateKey, now: dt.datetime) -> bytes:
    """A self-signed Ed25519 certificate for ``party``, as PEM."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, party)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(party.lower())]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(key, algorithm=None)
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def spki_hash_pem(pem: bytes) -> str:
    cert = x509.load_pem_x509_certificate(pem)
    return _spki(cert)


def spki_hash_der(der: bytes) -> str:
    return _spki(x509.load_der_x509_certificate(der))


def _spki(cert: x509.Certificate) -> str:
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def server_context(cert_file: str, key_file: str, peer_certs: list[str]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert_file, key_file)
    ctx.verify_mode = ssl.CERT_REQUIRED
    if peer_certs:
        ctx.load_verify_locations(cadata="\n".join(peer_certs))
    return ctx


def client_context(cert_file: str, key_file: str, peer_cert: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert_file, key_file)
    # Identity is the pinned certificate itself, not a host name: peers dial IP addresses.
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=peer_cert)
    return ctx
