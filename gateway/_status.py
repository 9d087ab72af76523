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
    RefusedError,
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

__all__ = ["REASON_KEY", "Refusal", "error_from_rpc", "refusal_for"]

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
    if isinstance(exc, GatewayError) and exc.code in grpc.StatusCode.__members__:
        # A peer's refusal (error_from_rpc), passed on as it came.
        code = grpc.StatusCode[exc.code]
        return Refusal(code, exc.reason_code or code.name.lower(), str(exc))
    if isinstance(exc, AdmissionRefused):
        code = _ADMISSION.get(exc.code, grpc.StatusCode.FAILED_PRECONDITION)
        return Refusal(code, exc.code, str(exc) or exc.code)
    for cls, code, reason, public in _TABLE:
        if isinstance(exc, cls):
            reason = getattr(exc, "reason_code", "") or reason
            if public is None:
                return Refusal(code, reason, str(exc) or reason)
            return Refusal(code, reason, public, opaque=True)
    return Refusal(grpc.StatusCode.INTERNAL, "internal", "internal error", opaque=True)


# The client side: a status (and its reason) back into the domain error it stands for.
_BY_STATUS: dict[grpc.StatusCode, type[GatewayError]] = {
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.ALREADY_EXISTS: ReplayError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequestError,
}
_BY_REASON: dict[str, type[GatewayError]] = {
    "rate_limited": RateLimitedError,
    "version_mismatch": VersionMismatchError,
    "ledger_refused": LedgerRefusedError,
}


def error_from_rpc(exc: grpc.RpcError, peer: str = "") -> GatewayError:
    """The domain error a failed call stands for: the one client-side mapping.

    The reason (``REASON_KEY`` in the trailing metadata) decides where it names a
    domain error, else the status code; anything else is a :class:`RefusedError`.
    ``code`` and ``reason_code`` are set on the error, so a caller decides on them and
    never on the text; :func:`refusal_for` sends such an error on with the same status
    and reason. ``peer`` names who answered, for the message.
    """
    code = exc.code() if callable(getattr(exc, "code", None)) else None
    status = code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN
    trailing = getattr(exc, "trailing_metadata", None)
    metadata = dict(trailing() or ()) if callable(trailing) else {}
    reason = str(metadata.get(REASON_KEY, ""))
    details = getattr(exc, "details", None)
    text = (details() if callable(details) else "") or status.name.lower()
    who = peer or "the peer"
    if status is grpc.StatusCode.DEADLINE_EXCEEDED:
        text = f"{who} did not answer in time"
    elif status is grpc.StatusCode.UNAVAILABLE:
        text = f"{who} is unavailable: {text}"
    elif peer:
        text = f"{peer} refused: {text}"
    cls = _BY_REASON.get(reason) or _BY_STATUS.get(status, RefusedError)
    error = cls(text)
    error.code, error.reason_code = status.name, reason
    return error
