"""Files on disk for the consortium CA and for each enrolled member.

A CA directory holds ``ca.key`` (0600) and ``ca.crt``. A member directory holds:

- ``ca.crt``       the consortium root, the only trust anchor for peers;
- ``tls.key``      the gateway's P-256 TLS key (0600, optionally encrypted);
- ``tls.crt``      its certificate, member id in the SAN URI;
- ``signing.key``  the Ed25519 ledger signing key (0600, optionally encrypted);
- ``enrolment.json`` the public record the consortium needs to admit the member: id,
  name, role, gateway address, signing public key, TLS fingerprint and certificate.

The enrolment record is what genesis and governance admission put on the ledger; it
holds no secret, so a member can send it to the others as it is.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway._errors import PkiError
from gateway._pki import (
    CertificateAuthority,
    certificate_fingerprint,
    create_root_ca,
    generate_signing_key,
    generate_tls_key,
    issue_member_certificate,
    load_certificate,
    load_private_key,
    private_key_pem,
    signing_public_bytes,
    validate_member_id,
    verify_member_certificate,
    write_certificate,
    write_private_key,
)
from ledger import ROLES, Member

__all__ = [
    "Enrolment",
    "MemberCredentials",
    "enroll_member",
    "init_ca",
    "load_ca",
    "load_enrolment",
    "load_member_credentials",
]

CA_KEY, CA_CERT = "ca.key", "ca.crt"
TLS_KEY, TLS_CERT, SIGNING_KEY, ENROLMENT = "tls.key", "tls.crt", "signing.key", "enrolment.json"


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A member's public enrolment record (no secrets)."""

    member_id: str
    name: str
    role: str
    address: str
    signing_key: bytes
    tls_fingerprint: bytes
    certificate_pem: bytes

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.member_id,
                "name": self.name,
                "role": self.role,
                "address": self.address,
                "signing_key": self.signing_key.hex(),
                "tls_fingerprint": self.tls_fingerprint.hex(),
                "certificate": self.certificate_pem.decode(),
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Enrolment:
        try:
            raw: Any = json.loads(text)
            record = cls(
                member_id=validate_member_id(raw["id"]),
                name=str(raw["name"]),
                role=str(raw["role"]),
                address=str(raw["address"]),
                signing_key=bytes.fromhex(raw["signing_key"]),
                tls_fingerprint=bytes.fromhex(raw["tls_fingerprint"]),
                certificate_pem=str(raw["certificate"]).encode(),
            )
        # RecursionError: json refuses nesting deeper than the interpreter's limit.
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise PkiError(f"malformed enrolment record: {type(exc).__name__}") from None
        if len(record.signing_key) != 32 or len(record.tls_fingerprint) != 32:
            raise PkiError("malformed enrolment record: key or fingerprint length")
        if record.role not in ROLES:
            raise PkiError(f"unknown role {record.role!r}")
        return record

    def verify(self, ca_certificate: x509.Certificate, *, now: dt.datetime) -> None:
        """Check the record is self-consistent and its certificate is the consortium's."""
        try:
            certificate = x509.load_pem_x509_certificate(self.certificate_pem)
        except ValueError:
            raise PkiError("enrolment certificate is not PEM") from None
        if verify_member_certificate(certificate, ca_certificate, now=now) != self.member_id:
            raise PkiError("enrolment certificate names another member")
        if certificate_fingerprint(certificate) != self.tls_fingerprint:
            raise PkiError("enrolment fingerprint does not match its certificate")

    def member(self, since: int) -> Member:
        """The ledger's member row for this enrolment, active from height ``since``."""
        return Member(
            id=self.member_id,
            name=self.name,
            role=self.role,
            status="active",
            signing_key=self.signing_key,
            tls_fingerprint=self.tls_fingerprint,
            address=self.address,
            since=since,
        )


@dataclass(frozen=True, slots=True)
class MemberCredentials:
    """What a running gateway needs from its member directory, decrypted in memory."""

    member_id: str
    tls_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    ca_certificate: x509.Certificate
    signing_key: Ed25519PrivateKey

    @property
    def fingerprint(self) -> bytes:
        return certificate_fingerprint(self.certificate)

    @property
    def tls_key_pem(self) -> bytes:
        # gRPC core takes the key as unencrypted PEM; it only ever lives in memory.
        return private_key_pem(self.tls_key)

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def ca_pem(self) -> bytes:
        return self.ca_certificate.public_bytes(serialization.Encoding.PEM)


def init_ca(
    directory: Path, consortium: str, *, now: dt.datetime, passphrase: bytes | None = None
) -> CertificateAuthority:
    """Create the consortium root CA in ``directory`` (which must not hold one yet)."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / CA_CERT).exists() or (directory / CA_KEY).exists():
        raise PkiError(f"{directory} already holds a CA")
    ca = create_root_ca(consortium, now=now)
    write_private_key(directory / CA_KEY, ca.key, passphrase)
    write_certificate(directory / CA_CERT, ca.certificate)
    return ca


def load_ca(directory: Path, passphrase: bytes | None = None) -> CertificateAuthority:
    key = load_private_key(directory / CA_KEY, passphrase)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{directory / CA_KEY} is not an ECDSA key")
    certificate = load_certificate(directory / CA_CERT)
    if certificate.public_key() != key.public_key():
        raise PkiError(f"{directory}: CA key and certificate do not match")
    return CertificateAuthority(key=key, certificate=certificate)


def enroll_member(
    ca: CertificateAuthority,
    directory: Path,
    *,
    member_id: str,
    name: str,
    address: str,
    role: str = "member",
    hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1"),
    now: dt.datetime,
    passphrase: bytes | None = None,
) -> Enrolment:
    """Make a member's keys and certificate in ``directory``; return its public record."""
    validate_member_id(member_id)
    if role not in ROLES:
        raise PkiError(f"unknown role {role!r}; one of {sorted(ROLES)}")
    directory.mkdir(parents=True, exist_ok=True)
    for existing in (TLS_KEY, SIGNING_KEY, TLS_CERT, ENROLMENT):
        if (directory / existing).exists():
            raise PkiError(f"{directory / existing} exists; enrol into an empty directory")
    tls_key = generate_tls_key()
    signing_key = generate_signing_key()
    host = address.rsplit(":", 1)[0].strip("[]") if ":" in address else ""
    certificate = issue_member_certificate(
        ca, member_id, tls_key.public_key(), hosts=(*hosts, host), now=now
    )
    write_private_key(directory / TLS_KEY, tls_key, passphrase)
    write_private_key(directory / SIGNING_KEY, signing_key, passphrase)
    write_certificate(directory / TLS_CERT, certificate)
    write_certificate(directory / CA_CERT, ca.certificate)
    record = Enrolment(
        member_id=member_id,
        name=name,
        role=role,
        address=address,
        signing_key=signing_public_bytes(signing_key),
        tls_fingerprint=certificate_fingerprint(certificate),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
    )
    (directory / ENROLMENT).write_text(record.to_json() + "\n")
    return record


def load_enrolment(path: Path) -> Enrolment:
    """Read an ``enrolment.json`` (or a member directory holding one)."""
    if path.is_dir():
        path = path / ENROLMENT
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PkiError(f"{path}: no such enrolment record") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PkiError(f"{path}: cannot read the enrolment record ({type(exc).__name__})") from None
    return Enrolment.from_json(text)


def load_member_credentials(directory: Path, passphrase: bytes | None = None) -> MemberCredentials:
    """Load and cross-check a member directory: the keys must match the certificate."""
    tls_key = load_private_key(directory / TLS_KEY, passphrase)
    signing_key = load_private_key(directory / SIGNING_KEY, passphrase)
    if not isinstance(tls_key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{directory / TLS_KEY} is not an ECDSA key")
    if not isinstance(signing_key, Ed25519PrivateKey):
        raise PkiError(f"{directory / SIGNING_KEY} is not an Ed25519 key")
    certificate = load_certificate(directory / TLS_CERT)
    ca_certificate = load_certificate(directory / CA_CERT)
    if certificate.public_key() != tls_key.public_key():
        raise PkiError(f"{directory}: TLS key and certificate do not match")
    member_id = verify_member_certificate(certificate, ca_certificate, now=dt.datetime.now(dt.UTC))
    return MemberCredentials(
        member_id=member_id,
        tls_key=tls_key,
        certificate=certificate,
        ca_certificate=ca_certificate,
        signing_key=signing_key,
    )
