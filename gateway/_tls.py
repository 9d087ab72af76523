"""TLS 1.3 only, mutual, for every gateway-to-gateway connection.

grpcio's Python API has no minimum-TLS-version option (grpc/grpc#43045 and #43080 are
open). gRPC core reads ``GRPC_SSL_CIPHER_SUITES`` once, when the ``grpc`` module is
first imported, and uses it only for TLS 1.2 and below; BoringSSL's TLS 1.3 suites are
fixed. Member certificates are ECDSA (`gateway._pki`), so restricting the TLS 1.2 list
to RSA-authenticated suites leaves no TLS 1.2 suite a gateway can negotiate: every
TLS 1.2 handshake fails with "no shared cipher" while TLS 1.3 is unaffected.

Because the variable only works if it is set before ``import grpc``, three layers keep
the rule:

1. :func:`pin_tls13_environment` runs when ``gateway`` is imported (before this package
   imports grpc) and sets the variable; the daemon's workers also get it in their
   environment from the start (`gateway._daemon`).
2. :func:`probe_refuses_tls12` makes a real TLS 1.2 handshake, with a valid client
   certificate, against a freshly started server; the daemon refuses to run if it
   succeeds.
3. The auth interceptor (`gateway._auth`) refuses any call whose auth context does not
   say ``TLSv1.3``, so even a mis-started server answers nothing over TLS 1.2.

Connections made with Python's ``ssl`` (checking a peer's certificate before a gRPC
channel is pinned to it, `gateway._peers`; the dashboard off loopback) set TLS 1.3 as
their minimum directly (:func:`tls13_context`).
"""

from __future__ import annotations

import os
import secrets
import socket
import ssl
import sys
import tempfile
from pathlib import Path

__all__ = [
    "CIPHER_SUITES_ENV",
    "TLS12_SUITES",
    "channel_credentials",
    "host_and_port",
    "peer_certificate",
    "pin_tls13_environment",
    "probe_refuses_tls12",
    "server_credentials",
    "tls13_context",
    "tls13_pinned",
]

CIPHER_SUITES_ENV = "GRPC_SSL_CIPHER_SUITES"
# RSA-authenticated AEAD suites only: unusable with our ECDSA keys, so TLS 1.2 fails.
TLS12_SUITES = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"

_pinned_before_grpc = False


def pin_tls13_environment() -> bool:
    """Set the TLS 1.2 cipher list if gRPC has not read it yet; report whether it holds."""
    global _pinned_before_grpc
    if os.environ.get(CIPHER_SUITES_ENV) == TLS12_SUITES and (
        _pinned_before_grpc or "grpc" not in sys.modules
    ):
        _pinned_before_grpc = True
    elif "grpc" not in sys.modules:
        os.environ[CIPHER_SUITES_ENV] = TLS12_SUITES
        _pinned_before_grpc = True
    return _pinned_before_grpc


def tls13_pinned() -> bool:
    """Whether gRPC core in this process was loaded with our TLS 1.2 cipher list."""
    return _pinned_before_grpc and os.environ.get(CIPHER_SUITES_ENV) == TLS12_SUITES


def server_credentials(key_pem: bytes, certificate_pem: bytes, ca_pem: bytes) -> object:
    """Server credentials that demand a client certificate issued by the consortium CA."""
    import grpc

    return grpc.ssl_server_credentials(
        [(key_pem, certificate_pem)], root_certificates=ca_pem, require_client_auth=True
    )


def channel_credentials(key_pem: bytes, certificate_pem: bytes, ca_pem: bytes) -> object:
    """Client credentials: present our certificate, trust only the consortium CA."""
    import grpc

    return grpc.ssl_channel_credentials(
        root_certificates=ca_pem, private_key=key_pem, certificate_chain=certificate_pem
    )


def probe_refuses_tls12(
    host: str,
    port: int,
    *,
    ca_file: Path,
    cert_file: Path,
    key_file: Path,
    passphrase: bytes | None = None,
    timeout: float = 5.0,
) -> bool:
    """True when a TLS 1.2 handshake with a valid client certificate is refused.

    The client certificate matters: without one, a TLS 1.2 handshake fails anyway and
    the probe would prove nothing about the version.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.load_verify_locations(cafile=str(ca_file))
    context.load_cert_chain(str(cert_file), str(key_file), password=passphrase)
    context.set_alpn_protocols(["h2"])
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw) as tls,
        ):
            return tls.version() != "TLSv1.2"
    except (ssl.SSLError, ConnectionError):
        return True


def tls13_context(
    key_pem: bytes, certificate_pem: bytes, ca_pem: bytes | None, *, server: bool
) -> ssl.SSLContext:
    """A Python ``ssl`` context, TLS 1.3 only, presenting our certificate.

    A client context verifies the peer's chain against ``ca_pem`` but not its host name:
    the caller pins the peer by its certificate fingerprint instead. A server context
    asks for no client certificate (browsers have none). ``ssl`` loads keys only from
    files, so the key (unencrypted PEM, as the gateway holds it in memory) is written
    encrypted under a one-time random password into a private temporary directory,
    loaded, and removed: it is never on disk in clear.
    """
    from cryptography.hazmat.primitives import serialization

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    if not server:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_REQUIRED
        # gRPC servers speak HTTP/2 only and expect it offered.
        context.set_alpn_protocols(["h2"])
    if ca_pem is not None:
        context.load_verify_locations(cadata=ca_pem.decode("ascii"))
    password = secrets.token_bytes(32)
    key = serialization.load_pem_private_key(key_pem, password=None)
    sealed = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )
    with tempfile.TemporaryDirectory(prefix="riskshare-tls-") as directory:
        key_file = Path(directory) / "key.pem"
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(sealed)
        cert_file = Path(directory) / "certificate.pem"
        cert_file.write_bytes(certificate_pem)
        context.load_cert_chain(str(cert_file), str(key_file), password=password)
    return context


def host_and_port(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` as a (host, port) pair; ``ValueError`` otherwise."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"not a host:port address: {address!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def peer_certificate(address: str, context: ssl.SSLContext, timeout: float) -> bytes:
    """The certificate (DER) a peer presents in a TLS 1.3 handshake made with ``context``.

    Raises ``ssl.SSLCertVerificationError`` if its chain does not verify against the
    context's CA, and ``OSError`` (``ssl.SSLError`` among them) if no handshake
    completes. Nothing but the handshake is sent.
    """
    host, port = host_and_port(address)
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the peer presented no certificate")
    return der


# Pin on import: `gateway/__init__.py` imports this module before anything that loads
# grpc, so importing `gateway` first is enough for every process that serves.
pin_tls13_environment()
