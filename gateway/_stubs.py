"""Client stubs for the generated services (typed entry points over untyped codegen)."""

from __future__ import annotations

from typing import Any

from gateway._pb.riskshare.admin.v1 import admin_pb2_grpc
from gateway._pb.riskshare.ledger.v1 import ledger_pb2_grpc
from gateway._pb.riskshare.psi.v1 import psi_pb2_grpc

__all__ = ["ADMIN_BODY_DOMAIN", "admin_stub", "ledger_stub", "psi_stub"]

# The CBOR domain of an admin request's body: the client encodes it and the admin
# service decodes it, so it lives with the stubs both sides import.
ADMIN_BODY_DOMAIN = ("admin-body", 1)


def psi_stub(channel: Any) -> Any:
    return psi_pb2_grpc.PsiStub(channel)  # type: ignore[no-untyped-call]


def ledger_stub(channel: Any) -> Any:
    return ledger_pb2_grpc.LedgerStub(channel)  # type: ignore[no-untyped-call]


def admin_stub(channel: Any) -> Any:
    return admin_pb2_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
