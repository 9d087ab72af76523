"""The one exception root of `gateway`; every error this package raises derives from it.

The subclasses say *how* a request failed, because the single error-mapping interceptor
(`gateway._status`) turns each into a precise gRPC status code, and the CLI turns any of
them into exit code 2. Messages never contain an identifier or a blinded element.
"""

__all__ = [
    "ConfigError",
    "DeadlineError",
    "GatewayError",
    "InvalidRequestError",
    "LedgerRefusedError",
    "PeerError",
    "PeerIdentityError",
    "PermissionDeniedError",
    "PkiError",
    "RateLimitedError",
    "RefusedError",
    "ReplayError",
    "UnauthenticatedError",
    "UnavailableError",
    "VersionMismatchError",
]


class GatewayError(Exception):
    """Base class of every error raised by `gateway`.

    An error that came back from another process over gRPC (``gateway._status.
    error_from_rpc``) carries the status ``code`` name and the peer's machine-readable
    ``reason_code``; the message is for people.
    """

    code: str = ""
    reason_code: str = ""


class ConfigError(GatewayError):
    """The gateway configuration is missing, malformed or inconsistent."""


class PkiError(GatewayError):
    """A key or certificate is missing, malformed, unprotected or not ours."""


class InvalidRequestError(GatewayError):
    """A request that is incomplete or contradictory (a field missing, exclusive options)."""


class UnauthenticatedError(GatewayError):
    """The caller's identity could not be established as an active member."""


class PermissionDeniedError(GatewayError):
    """The caller is a member but may not do this (role, locality, reciprocity)."""


class RateLimitedError(GatewayError):
    """The caller exceeded its request-rate allowance; it may retry later."""


class ReplayError(GatewayError):
    """A signed request was seen before (same querier and sequence number)."""


class VersionMismatchError(GatewayError):
    """The peer speaks another normaliser, protocol or index version than we do."""


class PeerError(GatewayError):
    """A peer gateway answered with something that does not verify."""


class PeerIdentityError(PeerError):
    """A peer gateway presented a certificate other than the one the ledger registers."""


class UnavailableError(GatewayError):
    """A peer or a local component cannot be reached right now; retrying may help."""


class DeadlineError(GatewayError):
    """A peer did not answer before the deadline."""


class RefusedError(GatewayError):
    """A peer or the local gateway refused a request for a reason no subclass names
    (its ``code`` and ``reason_code`` say which)."""


class LedgerRefusedError(GatewayError):
    """The ledger refused a transaction this gateway submitted; the reason is the
    ledger's own, which every replica computes alike, so it is not secret."""
