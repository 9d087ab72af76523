"""The consortium PKI: a root CA, member TLS certificates and Ed25519 signing keys.

Rules this module keeps:

- A member is named in its certificate by exactly one SAN URI
  ``riskshare://member/<id>``; the common name is decoration and is never read. A peer
  is recognised by that URI *and* by the SHA-256 of its certificate (DER) matching the
  fingerprint registered for that id on the ledger (checked in `gateway._auth`).
- TLS keys are ECDSA P-256 (so TLS 1.2 RSA-only cipher suites can never be negotiated,
  see `gateway._tls`); ledger signing keys are Ed25519 and separate from TLS keys.
- Private keys are written once (never overwritten), mode 0600, optionally encrypted
  with a passphrase (PKCS#8, best available encryption), and are refused on load when
  the file is readable by group or others, is not owned by us, or is a symlink.
- Time is an argument (``now``), so certificates are reproducible in tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway._errors import PkiError

__all__ = [
    "MEMBER_URI_PREFIX",
    "CertificateAuthority",
    "PeerIdentity",
    "PrivateKey",
    "certificate_fingerprint",
    "create_root_ca",
    "generate_signing_key",
    "generate_tls_key",
    "issue_member_certificate",
    "load_certificate",
    "load_private_key",
    "member_id_of",
    "member_uri",
    "peer_identity",
    "private_key_pem",
    "read_secret_file",
    "signing_public_bytes",
    "validate_member_id",
    "verify_member_certificate",
    "write_certificate",
    "write_private_key",
]

MEMBER_URI_PREFIX = "riskshare://member/"
# Lower-case, no spaces or slashes: the id appears in URIs, table keys and file names.
_MEMBER_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
_SKEW = dt.timedelta(minutes=5)

PrivateKey = Union[ec.EllipticCurvePrivateKey, Ed25519PrivateKey]  # noqa: UP007


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """The consortium root: its key signs member certificates."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True, slots=True)
class PeerIdentity:
    """Who a TLS peer claims to be: the SAN member id and its certificate fingerprint."""

    member_id: str
    fingerprint: bytes


def validate_member_id(member_id: str) -> str:
    if not isinstance(member_id, str) or not _MEMBER_ID.fullmatch(member_id):
        raise PkiError(
            f"bad member id {member_id!r}: 1-63 of a-z 0-9 . _ -, starting with a letter or digit"
        )
    return member_id


def member_uri(member_id: str) -> str:
    return MEMBER_URI_PREFIX + validate_member_id(member_id)


def generate_tls_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def generate_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def signing_public_bytes(key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte Ed25519 public key, as the ledger's member rows hold it."""
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def certificate_fingerprint(certificate: x509.Certificate) -> bytes:
    """SHA-256 of the certificate's DER: the value registered on the ledger."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def create_root_ca(
    consortium: str, *, now: dt.datetime, valid_days: int = 3650
) -> CertificateAuthority:
    """A self-signed P-256 root that may sign end-entity certificates only."""
    if not consortium.strip():
        raise PkiError("the consortium needs a name")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, consortium),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{consortium} root CA"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _SKEW)
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(key=key, certificate=certificate)


def _san(member_id: str, hosts: Iterable[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(member_uri(member_id))]
    seen: set[str] = set()
    for host in hosts:
        if not host or host in seen:
            continue
        seen.add(host)
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def issue_member_certificate(
    ca: CertificateAuthority,
    member_id: str,
    public_key: ec.EllipticCurvePublicKey,
    *,
    hosts: Iterable[str] = ("localhost", "127.0.0.1", "::1"),
    now: dt.datetime,
    valid_days: int = 397,
) -> x509.Certificate:
    """A TLS certificate for one member's gateway, usable as server and as client."""
    validate_member_id(member_id)
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise PkiError("member TLS keys must be ECDSA P-256")
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, member_id)]))
        .issuer_name(ca.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _SKEW)
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(_san(member_id, hosts), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski.value),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )


def member_id_of(certificate: x509.Certificate) -> str:
    """The member id in the certificate's one ``riskshare://member/`` SAN URI."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        raise PkiError("certificate has no subject alternative name") from None
    except ValueError:  # extensions are parsed on first access
        raise PkiError("certificate extensions are malformed") from None
    uris = [
        uri
        for uri in san.value.get_values_for_type(x509.UniformResourceIdentifier)
        if uri.startswith(MEMBER_URI_PREFIX)
    ]
    if len(uris) != 1:
        raise PkiError(f"certificate must name exactly one member URI, found {len(uris)}")
    return validate_member_id(uris[0][len(MEMBER_URI_PREFIX) :])


def peer_identity(certificate_pem: bytes) -> PeerIdentity:
    """Parse a peer certificate (PEM, as gRPC's auth context gives it) into an identity."""
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError:
        raise PkiError("peer certificate is not valid PEM") from None
    return PeerIdentity(member_id_of(certificate), certificate_fingerprint(certificate))


def verify_member_certificate(
    certificate: x509.Certificate, ca_certificate: x509.Certificate, *, now: dt.datetime
) -> str:
    """Check issuer, signature, validity window and profile; return the member id.

    gRPC verifies peers' chains during the handshake; this is for certificates that
    arrive any other way (enrolment records, genesis founders).
    """
    try:
        return _verify_member_certificate(certificate, ca_certificate, now=now)
    except ValueError:
        # cryptography parses fields on first access: a certificate whose outer DER
        # loads can still hold a malformed issuer, validity or extension.
        raise PkiError("certificate is malformed") from None


def _verify_member_certificate(
    certificate: x509.Certificate, ca_certificate: x509.Certificate, *, now: dt.datetime
) -> str:
    if certificate.issuer != ca_certificate.subject:
        raise PkiError("certificate was not issued by the consortium CA")
    try:
        certificate.verify_directly_issued_by(ca_certificate)
    except (InvalidSignature, ValueError, TypeError):
        raise PkiError("certificate signature does not verify against the consortium CA") from None
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise PkiError("certificate is outside its validity period")
    try:
        basic = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        raise PkiError("certificate lacks basic constraints") from None
    if basic.value.ca:
        raise PkiError("a CA certificate cannot be a member certificate")
    return member_id_of(certificate)


def private_key_pem(key: PrivateKey, passphrase: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def write_private_key(path: Path, key: PrivateKey, passphrase: bytes | None = None) -> None:
    """Create ``path`` with mode 0600 and the key in it; refuse to overwrite anything."""
    data = private_key_pem(key, passphrase)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise PkiError(f"{path} already exists; refusing to overwrite a private key") from None
    try:
        # The umask can only remove bits, but an inherited ACL-less filesystem might
        # not honour the mode argument; set it explicitly before any byte is written.
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_secret_file(path: Path) -> bytes:
    """The bytes of a secret file, refusing one that others could read or that is not ours.

    Used for every key the gateway loads (TLS and signing keys here, the fingerprint
    registry's OPRF key in `gateway._scenarios`), so each is refused the same way.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise PkiError(f"{path}: no such key file") from None
    except OSError as exc:
        raise PkiError(f"{path}: cannot open key file ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise PkiError(f"{path}: not a regular file")
        if info.st_mode & 0o077:
            raise PkiError(
                f"{path}: permissions {stat.S_IMODE(info.st_mode):04o} are too open; "
                "private keys must be 0600 (chmod 600)"
            )
        if info.st_uid != os.geteuid():
            raise PkiError(f"{path}: owned by uid {info.st_uid}, not by us")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(fd)


def load_private_key(path: Path, passphrase: bytes | None = None) -> PrivateKey:
    """Load a private key, refusing files that others could read or that are not ours."""
    data = read_secret_file(path)
    try:
        key = serialization.load_pem_private_key(data, password=passphrase or None)
    except TypeError:
        raise PkiError(f"{path}: key is encrypted and needs a passphrase") from None
    except ValueError:
        raise PkiError(f"{path}: not a private key, or the passphrase is wrong") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | Ed25519PrivateKey):
        raise PkiError(f"{path}: unsupported key type {type(key).__name__}")
    return key


def write_certificate(path: Path, certificate: x509.Certificate) -> None:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def load_certificate(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        raise PkiError(f"{path}: no such certificate file") from None
    except ValueError:
        raise PkiError(f"{path}: not a PEM certificate") from None
