"""The one place where errors become gRPC status codes (and back, on the client side).

A refusal carries three things to the caller: the status code, a short message that
never holds an identifier or a blinded element, and a machine-readable reason in the
``riskshare-reason`` trailing metadata so a querier can tell a rate limit (retry later)
from exhausted credit (do not retry) although both are RESOURCE_EXHAUSTED.

Errors about the caller's bytes (malformed elements, bad encodings) get one opaque
message; the detail goes to the local log only (STYLE rule 4). Errors we did not
anticipate are INTERNAL with an opaque message.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from adapters import AdapterError
from gateway._errors import (
    ConfigError,
    DeadlineError,
    GatewayError,
    PeerError,
    PermissionDeniedError,
    PkiError,
    RateLimitedError,
    ReplayError,
    UnauthenticatedError,
    UnavailableError,
    VersionMismatchError,
)
from ledger import ContractError, EncodingError, LedgerError
from psi import PsiError
from token_incentive import CreditsError

__all__ = ["REASON_KEY", "Refusal", "refusal_for"]

REASON_KEY = "riskshare-reason"


@dataclass(frozen=True, slots=True)
class Refusal:
    code: grpc.StatusCode
    reason: str
    message: str
    # True when the message shown to the caller hides the local detail.
    opaque: bool = False


# Most specific first; the first matching class wins.
_TABLE: tuple[tuple[type[BaseException], grpc.StatusCode, str, str | None], ...] = (
    (UnauthenticatedError, grpc.StatusCode.UNAUTHENTICATED, "unauthenticated", None),
    (PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED, "permission_denied", None),
    (RateLimitedError, grpc.StatusCode.RESOURCE_EXHAUSTED, "rate_limited", None),
    (ReplayError, grpc.StatusCode.ALREADY_EXISTS, "replay", None),
    (VersionMismatchError, grpc.StatusCode.FAILED_PRECONDITION, "version_mismatch", None),
    (DeadlineError, grpc.StatusCode.DEADLINE_EXCEEDED, "deadline", None),
    (UnavailableError, grpc.StatusCode.UNAVAILABLE, "unavailable", None),
    (PeerError, grpc.StatusCode.UNAVAILABLE, "peer_error", None),
    (ConfigError, grpc.StatusCode.INTERNAL, "internal", "internal error"),
    (PkiError, grpc.StatusCode.INTERNAL, "internal", "internal error"),
    (GatewayError, grpc.StatusCode.INTERNAL, "internal", "internal error"),
    (CreditsError, grpc.StatusCode.FAILED_PRECONDITION, "credits", None),
    (PsiError, grpc.StatusCode.INVALID_ARGUMENT, "malformed", "malformed request"),
    (EncodingError, grpc.StatusCode.INVALID_ARGUMENT, "malformed", "malformed request"),
    (ContractError, grpc.StatusCode.FAILED_PRECONDITION, "refused", None),
    (LedgerError, grpc.StatusCode.FAILED_PRECONDITION, "ledger", None),
    (AdapterError, grpc.StatusCode.INVALID_ARGUMENT, "invalid_identifier", None),
)


def refusal_for(exc: BaseException) -> Refusal:
    """The status a caller sees for ``exc``."""
    for cls, code, reason, public in _TABLE:
        if isinstance(exc, cls):
            reason = getattr(exc, "reason_code", reason)
            if public is None:
                return Refusal(code, reason, str(exc) or reason)
            return Refusal(code, reason, public, opaque=True)
    return Refusal(grpc.StatusCode.INTERNAL, "internal", "internal error", opaque=True)
