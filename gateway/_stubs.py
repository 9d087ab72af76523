"""Client stubs for the generated services (typed entry points over untyped codegen)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from gateway._pb.riskshare.admin.v1 import admin_pb2_grpc
from gateway._pb.riskshare.ledger.v1 import ledger_pb2_grpc
from gateway._pb.riskshare.psi.v1 import psi_pb2_grpc

__all__ = ["ADMIN_BODY_DOMAIN", "admin_stub", "ledger_stub", "psi_stub"]

# The CBOR domain of an admin request's body: the client encodes it and the admin
# service decodes it, so it lives with the stubs both sides import.
ADMIN_BODY_DOMAIN = ("admin-body", 1)


# PsiStub per channel, most recently used last. Building a stub builds a multicallable
# per method, which grpc wraps in typing machinery: a quarter of a querier's Python time
# in the query bench's profile when built per query (docs/benchmarks/gateway.md).
# Entries hold their channel, so an id is never reused while cached; the bound keeps
# closed channels from piling up (a member's channel is replaced only on reconnect).
_PSI_STUBS: OrderedDict[int, tuple[Any, Any]] = OrderedDict()
_PSI_STUBS_MAX = 64
_psi_lock = threading.Lock()


def psi_stub(channel: Any) -> Any:
    """The ``Psi`` stub for ``channel``, built once per channel (stubs are thread-safe)."""
    with _psi_lock:
        held = _PSI_STUBS.get(id(channel))
        if held is not None and held[0] is channel:
            _PSI_STUBS.move_to_end(id(channel))
            return held[1]
        stub = psi_pb2_grpc.PsiStub(channel)  # type: ignore[no-untyped-call]
        _PSI_STUBS[id(channel)] = (channel, stub)
        while len(_PSI_STUBS) > _PSI_STUBS_MAX:
            _PSI_STUBS.popitem(last=False)
        return stub


def ledger_stub(channel: Any) -> Any:
    return ledger_pb2_grpc.LedgerStub(channel)  # type: ignore[no-untyped-call]


def admin_stub(channel: Any) -> Any:
    return admin_pb2_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
