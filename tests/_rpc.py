"""Helpers for tests that speak gRPC to real gateways: a query request as a querier's
gateway builds it, the status a call is refused with, and waiting for a condition."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway._status import REASON_KEY
from ledger import now_ms
from psi import PendingQuery, prepare_query
from token_incentive import QueryRequest, SignedRequest, sign_request

__all__ = ["Refusal", "phone_request", "refusal", "wait_for"]


def phone_request(
    querier: str,
    responder: str,
    values: Sequence[str],
    key: Ed25519PrivateKey,
    /,
    **over: Any,
) -> tuple[SignedRequest, PendingQuery]:
    """A signed ``transaction_fraud`` request for phone ``values`` as ``querier``'s
    gateway makes it, and its blinding; ``over`` replaces any request field (how a
    hostile querier lies, ``querier`` and ``responder`` included)."""
    list_type = "transaction_fraud"
    pending = prepare_query(list_type, [("phone", v) for v in values], os.urandom, pool=None)
    fields: dict[str, Any] = {
        "request_id": os.urandom(16),
        "querier": querier,
        "responder": responder,
        "list_type": list_type,
        "id_type": "phone",
        "item_count": len(values),
        "purpose_code": "screening",
        "legal_basis": "legitimate_interest",
        "consent_ref": None,
        "blinded_digest": pending.digest(),
        "seq": 1,
        "time": now_ms(),
        "normaliser_version": "v1",
    }
    fields.update(over)
    return sign_request(QueryRequest(**fields), key), pending


@dataclass(frozen=True)
class Refusal:
    code: str
    reason: str
    details: str


def refusal(call: Callable[[], Any]) -> Refusal:
    """The status ``call`` is refused with; fails the test if it is answered."""
    try:
        call()
    except grpc.RpcError as error:
        rpc: Any = error
        metadata = dict(rpc.trailing_metadata() or ())
        return Refusal(rpc.code().name, str(metadata.get(REASON_KEY, "")), rpc.details() or "")
    raise AssertionError("the hostile call was answered")


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout} s: {what}")
        time.sleep(0.05)
