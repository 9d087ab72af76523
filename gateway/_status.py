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
    InvalidRequestError,
    LedgerRefusedError,
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
from psi import (
    BucketTooSmall,
    DeltaUnavailable,
    IdentifierError,
    ProtocolError,
    PsiError,
    StoreError,
    UnknownTypeError,
)
from token_incentive import AdmissionRefused, CreditsError, MessageError

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
    (InvalidRequestError, grpc.StatusCode.INVALID_ARGUMENT, "bad_request", None),
    (LedgerRefusedError, grpc.StatusCode.FAILED_PRECONDITION, "ledger_refused", None),
    (ConfigError, grpc.StatusCode.INTERNAL, "internal", "internal error"),
    (PkiError, grpc.StatusCode.INTERNAL, "internal", "internal error"),
    (GatewayError, grpc.StatusCode.INTERNAL, "internal", "internal error"),
    (MessageError, grpc.StatusCode.INVALID_ARGUMENT, "bad_request", None),
    (CreditsError, grpc.StatusCode.FAILED_PRECONDITION, "credits", None),
    (ProtocolError, grpc.StatusCode.INVALID_ARGUMENT, "malformed", "malformed request"),
    (DeltaUnavailable, grpc.StatusCode.FAILED_PRECONDITION, "delta_unavailable", None),
    (BucketTooSmall, grpc.StatusCode.FAILED_PRECONDITION, "bucket_too_small", None),
    (UnknownTypeError, grpc.StatusCode.NOT_FOUND, "unknown_list", None),
    (StoreError, grpc.StatusCode.NOT_FOUND, "not_published", None),
    (IdentifierError, grpc.StatusCode.INVALID_ARGUMENT, "invalid_identifier", None),
    (PsiError, grpc.StatusCode.INVALID_ARGUMENT, "malformed", "malformed request"),
    (EncodingError, grpc.StatusCode.INVALID_ARGUMENT, "malformed", "malformed request"),
    (ContractError, grpc.StatusCode.FAILED_PRECONDITION, "refused", None),
    (LedgerError, grpc.StatusCode.FAILED_PRECONDITION, "ledger", None),
    (AdapterError, grpc.StatusCode.INVALID_ARGUMENT, "invalid_identifier", None),
)


# Admission refusals name the rule that failed; each rule has its own status.
_ADMISSION: dict[str, grpc.StatusCode] = {
    "not_member": grpc.StatusCode.PERMISSION_DENIED,
    "not_publisher": grpc.StatusCode.PERMISSION_DENIED,
    "unknown_list_type": grpc.StatusCode.NOT_FOUND,
    "bad_items": grpc.StatusCode.INVALID_ARGUMENT,
    "stale_list": grpc.StatusCode.FAILED_PRECONDITION,
    "over_overdraft": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "stale_request": grpc.StatusCode.INVALID_ARGUMENT,
    "canary_bound": grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def refusal_for(exc: BaseException) -> Refusal:
    """The status a caller sees for ``exc``."""
    if isinstance(exc, AdmissionRefused):
        code = _ADMISSION.get(exc.code, grpc.StatusCode.FAILED_PRECONDITION)
        return Refusal(code, exc.code, str(exc) or exc.code)
    for cls, code, reason, public in _TABLE:
        if isinstance(exc, cls):
            reason = getattr(exc, "reason_code", reason)
            if public is None:
                return Refusal(code, reason, str(exc) or reason)
            return Refusal(code, reason, public, opaque=True)
    return Refusal(grpc.StatusCode.INTERNAL, "internal", "internal error", opaque=True)
