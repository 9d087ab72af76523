"""The member gateway daemon: PKI, mutual-TLS gRPC, query orchestration, metrics, dashboard."""

# First, before any module that loads grpc: pins gRPC's TLS 1.2 cipher list (_tls).
import gateway._tls  # noqa: F401
from gateway._auth import MembershipView, StateMembership, authenticate
from gateway._config import Config, load_config, parse_config
from gateway._enroll import (
    Enrolment,
    MemberCredentials,
    enroll_member,
    init_ca,
    load_ca,
    load_enrolment,
    load_member_credentials,
)
from gateway._errors import (
    ConfigError,
    DeadlineError,
    GatewayError,
    InvalidRequestError,
    PeerError,
    PeerIdentityError,
    PermissionDeniedError,
    PkiError,
    RateLimitedError,
    ReplayError,
    UnauthenticatedError,
    UnavailableError,
    VersionMismatchError,
)
from gateway._pki import (
    MEMBER_URI_PREFIX,
    CertificateAuthority,
    PeerIdentity,
    certificate_fingerprint,
    create_root_ca,
    issue_member_certificate,
    load_private_key,
    member_id_of,
    peer_identity,
    write_private_key,
)
from gateway._ratelimit import RateLimiter, TokenBucket
from gateway._rotation import KEY_GRACE_MS, Rotation, rotate_oprf_key
from gateway._tls import probe_refuses_tls12, tls13_pinned

__all__ = [
    "KEY_GRACE_MS",
    "MEMBER_URI_PREFIX",
    "CertificateAuthority",
    "Config",
    "ConfigError",
    "DeadlineError",
    "Enrolment",
    "GatewayError",
    "InvalidRequestError",
    "MemberCredentials",
    "MembershipView",
    "PeerError",
    "PeerIdentity",
    "PeerIdentityError",
    "PermissionDeniedError",
    "PkiError",
    "RateLimitedError",
    "RateLimiter",
    "ReplayError",
    "Rotation",
    "StateMembership",
    "TokenBucket",
    "UnauthenticatedError",
    "UnavailableError",
    "VersionMismatchError",
    "authenticate",
    "certificate_fingerprint",
    "create_root_ca",
    "enroll_member",
    "init_ca",
    "issue_member_certificate",
    "load_ca",
    "load_config",
    "load_enrolment",
    "load_member_credentials",
    "load_private_key",
    "member_id_of",
    "parse_config",
    "peer_identity",
    "probe_refuses_tls12",
    "rotate_oprf_key",
    "tls13_pinned",
    "write_private_key",
]
