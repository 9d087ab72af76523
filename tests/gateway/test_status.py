"""The one client-side mapping (gateway._status.error_from_rpc) and its round trip.

Every status a peer can send comes back as the domain error it stands for, with the
code and reason set for programs; passed on to our own caller, it leaves with the same
status and reason it came with. The real RPCs are exercised through gateways in
tests/hostile; here the mapping itself, over every code.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from gateway import (
    DeadlineError,
    GatewayError,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimitedError,
    ReplayError,
    UnauthenticatedError,
    UnavailableError,
    VersionMismatchError,
)
from gateway._errors import LedgerRefusedError, RefusedError
from gateway._status import REASON_KEY, error_from_rpc, refusal_for


class _Failed(grpc.RpcError):  # type: ignore[misc]
    """A failed call as grpc raises it: code, details and trailing metadata."""

    def __init__(self, code: grpc.StatusCode, details: str, reason: str = "") -> None:
        self._code, self._details, self._reason = code, details, reason

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> Any:
        return ((REASON_KEY, self._reason),) if self._reason else ()


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (grpc.StatusCode.UNAUTHENTICATED, "unauthenticated", UnauthenticatedError),
        (grpc.StatusCode.PERMISSION_DENIED, "not_publisher", PermissionDeniedError),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "rate_limited", RateLimitedError),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "over_overdraft", RefusedError),
        (grpc.StatusCode.ALREADY_EXISTS, "replay", ReplayError),
        (grpc.StatusCode.FAILED_PRECONDITION, "version_mismatch", VersionMismatchError),
        (grpc.StatusCode.FAILED_PRECONDITION, "ledger_refused", LedgerRefusedError),
        (grpc.StatusCode.FAILED_PRECONDITION, "stale_sequence", RefusedError),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "", DeadlineError),
        (grpc.StatusCode.UNAVAILABLE, "", UnavailableError),
        (grpc.StatusCode.INVALID_ARGUMENT, "malformed", InvalidRequestError),
        (grpc.StatusCode.INTERNAL, "internal", RefusedError),
    ],
)
def test_every_status_comes_back_as_its_domain_error(
    code: grpc.StatusCode, reason: str, expected: type[GatewayError]
) -> None:
    error = error_from_rpc(_Failed(code, "why, for people", reason), "bank-b")
    assert type(error) is expected
    assert (error.code, error.reason_code) == (code.name, reason)
    assert "bank-b" in str(error)
    # Passed on, it leaves as it came: same status, same reason.
    out = refusal_for(error)
    assert out.code == code and out.reason == (reason or code.name.lower())


def test_the_text_is_for_people_and_names_the_peer() -> None:
    refused = error_from_rpc(
        _Failed(grpc.StatusCode.FAILED_PRECONDITION, "at_or_after_maturity"), "bank-b"
    )
    assert str(refused) == "bank-b refused: at_or_after_maturity"
    late = error_from_rpc(_Failed(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"), "bank-c")
    assert str(late) == "bank-c did not answer in time"


def test_our_own_errors_keep_their_table_reason() -> None:
    # An error raised here (no code from a peer) is mapped by the table, as before.
    out = refusal_for(PermissionDeniedError("not a member"))
    assert (out.code, out.reason) == (grpc.StatusCode.PERMISSION_DENIED, "permission_denied")
