"""The consortium PKI: certificates, identities, key files and enrolment records."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import (
    Enrolment,
    PkiError,
    certificate_fingerprint,
    create_root_ca,
    enroll_member,
    issue_member_certificate,
    load_enrolment,
    load_member_credentials,
    load_private_key,
    member_id_of,
    peer_identity,
    write_private_key,
)
from gateway._pki import generate_signing_key, generate_tls_key, verify_member_certificate
from tests.gateway.conftest import NOW, Consortium


def test_member_certificate_names_member_in_san_uri(consortium: Consortium) -> None:
    creds = consortium.credentials("bank-a")
    cert = creds.certificate
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["riskshare://member/bank-a"]
    assert "127.0.0.1" in {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert member_id_of(cert) == "bank-a"
    der = cert.public_bytes(serialization.Encoding.DER)
    assert certificate_fingerprint(cert) == hashlib.sha256(der).digest()
    assert creds.fingerprint == consortium.enrolments["bank-a"].tls_fingerprint
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca is False


def test_identity_ignores_common_name(consortium: Consortium) -> None:
    # A certificate whose CN says "bank-b" but whose SAN URI says bank-a is bank-a.
    key = generate_tls_key()
    cert = issue_member_certificate(consortium.ca, "bank-a", key.public_key(), now=NOW)
    forged_cn = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bank-b")]))
        .issuer_name(cert.issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
        .add_extension(
            cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value, False
        )
        .sign(consortium.ca.key, hashes.SHA256())
    )
    identity = peer_identity(forged_cn.public_bytes(serialization.Encoding.PEM))
    assert identity.member_id == "bank-a"


def _cert_with_uris(consortium: Consortium, uris: list[str]) -> x509.Certificate:
    key = generate_tls_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bank-a")]))
        .issuer_name(consortium.ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=1))
    )
    if uris:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(u) for u in uris]), False
        )
    return builder.sign(consortium.ca.key, hashes.SHA256())


@pytest.mark.parametrize(
    "uris",
    [
        [],
        ["https://example.com/"],
        ["riskshare://member/bank-a", "riskshare://member/bank-b"],
        ["riskshare://member/Bank A"],
        ["riskshare://member/"],
    ],
)
def test_certificate_without_exactly_one_valid_member_uri_is_refused(
    consortium: Consortium, uris: list[str]
) -> None:
    with pytest.raises(PkiError):
        member_id_of(_cert_with_uris(consortium, uris))


def test_verify_refuses_other_ca_and_expired(
    consortium: Consortium, other_consortium: Consortium
) -> None:
    cert = other_consortium.credentials("bank-a").certificate
    with pytest.raises(PkiError, match=r"not issued by|does not verify"):
        verify_member_certificate(cert, consortium.ca.certificate, now=dt.datetime.now(dt.UTC))
    # Same subject name, different key: the signature check must catch it.
    impostor = create_root_ca("Test consortium", now=NOW)
    fake = issue_member_certificate(impostor, "bank-a", generate_tls_key().public_key(), now=NOW)
    with pytest.raises(PkiError, match="does not verify"):
        verify_member_certificate(fake, consortium.ca.certificate, now=NOW)
    own = consortium.credentials("bank-a").certificate
    with pytest.raises(PkiError, match="validity"):
        verify_member_certificate(
            own, consortium.ca.certificate, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=800)
        )


def test_rsa_tls_keys_are_refused(consortium: Consortium) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(PkiError, match="P-256"):
        issue_member_certificate(
            consortium.ca,
            "bank-a",
            rsa_key.public_key(),  # type: ignore[arg-type]
            now=NOW,
        )


def test_private_keys_are_0600_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    key = generate_signing_key()
    write_private_key(path, key)
    assert os.stat(path).st_mode & 0o777 == 0o600
    with pytest.raises(PkiError, match="already exists"):
        write_private_key(path, generate_signing_key())
    loaded = load_private_key(path)
    assert loaded.private_bytes_raw() == key.private_bytes_raw()  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o666])
def test_loose_key_permissions_are_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "k.key"
    write_private_key(path, generate_tls_key())
    os.chmod(path, mode)
    with pytest.raises(PkiError, match="too open"):
        load_private_key(path)


def test_symlinked_key_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.key"
    write_private_key(real, generate_tls_key())
    link = tmp_path / "link.key"
    link.symlink_to(real)
    with pytest.raises(PkiError):
        load_private_key(link)


def test_passphrase_encryption(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    key = generate_tls_key()
    write_private_key(path, key, b"correct horse")
    assert b"ENCRYPTED" in path.read_bytes()
    with pytest.raises(PkiError, match="needs a passphrase"):
        load_private_key(path)
    with pytest.raises(PkiError, match="passphrase is wrong"):
        load_private_key(path, b"wrong")
    loaded = load_private_key(path, b"correct horse")
    assert loaded.public_key() == key.public_key()


def test_enrolment_with_passphrase_round_trips(tmp_path: Path, consortium: Consortium) -> None:
    record = enroll_member(
        consortium.ca,
        tmp_path / "m",
        member_id="bank-z",
        name="Bank Z",
        address="gw.bank-z.example:7443",
        now=dt.datetime.now(dt.UTC),
        passphrase=b"s3cret",
    )
    for name in ("tls.key", "signing.key"):
        assert os.stat(tmp_path / "m" / name).st_mode & 0o777 == 0o600
    with pytest.raises(PkiError):
        load_member_credentials(tmp_path / "m")
    creds = load_member_credentials(tmp_path / "m", b"s3cret")
    assert creds.member_id == "bank-z"
    assert creds.fingerprint == record.tls_fingerprint
    san = creds.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert "gw.bank-z.example" in san.value.get_values_for_type(x509.DNSName)
    assert load_enrolment(tmp_path / "m") == record
    record.verify(consortium.ca.certificate, now=dt.datetime.now(dt.UTC))
    with pytest.raises(PkiError, match="empty directory"):
        enroll_member(
            consortium.ca,
            tmp_path / "m",
            member_id="bank-z",
            name="Bank Z",
            address="x:1",
            now=NOW,
        )


def test_enrolment_record_must_match_its_certificate(consortium: Consortium) -> None:
    record = consortium.enrolments["bank-a"]
    now = dt.datetime.now(dt.UTC)
    swapped = dataclasses.replace(
        record, tls_fingerprint=consortium.enrolments["bank-b"].tls_fingerprint
    )
    with pytest.raises(PkiError, match="fingerprint"):
        swapped.verify(consortium.ca.certificate, now=now)
    renamed = dataclasses.replace(record, member_id="bank-b")
    with pytest.raises(PkiError, match="another member"):
        renamed.verify(consortium.ca.certificate, now=now)


_ids = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,62}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    member_id=_ids,
    name=st.text(max_size=40),
    role=st.sampled_from(["member", "observer", "orderer"]),
    address=st.text(max_size=40),
    key=st.binary(min_size=32, max_size=32),
    fingerprint=st.binary(min_size=32, max_size=32),
)
def test_enrolment_json_round_trips(
    member_id: str, name: str, role: str, address: str, key: bytes, fingerprint: bytes
) -> None:
    record = Enrolment(member_id, name, role, address, key, fingerprint, b"-----PEM-----\n")
    assert Enrolment.from_json(record.to_json()) == record


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_enrolment_parser_raises_only_pki_error(text: str) -> None:
    with contextlib.suppress(PkiError):
        Enrolment.from_json(text)
