"""Client TLS (as production runs etcd): a TLS-only member with client certificate auth."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ledger._etcd import EtcdLog
from ledger._etcd_client import EtcdTLS
from ledger._etcd_errors import EtcdLogError, OrderingUnavailable
from ledger._etcd_local import EtcdServerTLS, LocalEtcdCluster


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    usage: list[x509.ObjectIdentifier] | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("etcd-pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("etcd test CA", ca_key, "etcd test CA", ca_key, ca=True)
    _write(d / "ca", ca, ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_usage = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    server = _issue("etcd member", server_key, "etcd test CA", ca_key, usage=server_usage)
    _write(d / "server", server, server_key)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_usage = [ExtendedKeyUsageOID.CLIENT_AUTH]
    client = _issue("riskshare orderer", client_key, "etcd test CA", ca_key, usage=client_usage)
    _write(d / "client", client, client_key)
    return d


@pytest.fixture(scope="module")
def tls_cluster(pki: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEtcdCluster]:
    server = EtcdServerTLS(pki / "server.crt", pki / "server.key", pki / "ca.crt")
    client = EtcdTLS.from_files(pki / "ca.crt", pki / "client.crt", pki / "client.key")
    base = tmp_path_factory.mktemp("etcd-tls")
    with LocalEtcdCluster(base, size=1, server_tls=server, client_tls=client) as cluster:
        yield cluster


def test_tls_with_client_certificate(tls_cluster: LocalEtcdCluster, pki: Path) -> None:
    assert all(e.startswith("https://") for e in tls_cluster.endpoints)
    tls = EtcdTLS.from_files(pki / "ca.crt", pki / "client.crt", pki / "client.key")
    with EtcdLog(tls_cluster.endpoints, "tls", tls=tls) as log:
        assert log.append(0, b"over tls")
        assert log.get(0) == b"over tls"
        assert log.last_height() == 0


def test_tls_without_client_certificate_is_refused(
    tls_cluster: LocalEtcdCluster, pki: Path
) -> None:
    tls = EtcdTLS.from_files(pki / "ca.crt")
    with (
        EtcdLog(tls_cluster.endpoints, "tls", tls=tls, call_timeout=0.3, op_timeout=1.0) as log,
        pytest.raises(OrderingUnavailable),
    ):
        log.get(0)


def test_plain_client_cannot_be_pointed_at_tls(tls_cluster: LocalEtcdCluster) -> None:
    with pytest.raises(EtcdLogError):
        EtcdLog(tls_cluster.endpoints, "tls")
