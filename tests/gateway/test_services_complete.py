"""Every RPC of every service we serve has our own handler.

The gRPC code generated into ``gateway/_pb`` (tools/gen_protos.sh; not edited by hand)
gives each servicer base class a default per method that answers UNIMPLEMENTED
(``raise NotImplementedError('Method not implemented!')``). Those defaults must never
be reached: each service class here overrides every method its proto declares, so an
RPC added to a proto without a handler fails this test instead of answering
UNIMPLEMENTED in production.
"""

from __future__ import annotations

import pytest

from gateway._admin import AdminService
from gateway._ledger_service import LedgerService
from gateway._pb.riskshare.admin.v1 import admin_pb2, admin_pb2_grpc
from gateway._pb.riskshare.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from gateway._pb.riskshare.psi.v1 import psi_pb2, psi_pb2_grpc
from gateway._pb.riskshare.scenarios.v1 import scenarios_pb2, scenarios_pb2_grpc
from gateway._responder import PsiService
from gateway._scenarios import ScenarioAdminService, ScenarioPeerService

SERVICES = [
    (AdminService, admin_pb2_grpc.AdminServicer, admin_pb2, "Admin"),
    (LedgerService, ledger_pb2_grpc.LedgerServicer, ledger_pb2, "Ledger"),
    (PsiService, psi_pb2_grpc.PsiServicer, psi_pb2, "Psi"),
    (ScenarioPeerService, scenarios_pb2_grpc.ScenariosServicer, scenarios_pb2, "Scenarios"),
    (
        ScenarioAdminService,
        scenarios_pb2_grpc.ScenarioAdminServicer,
        scenarios_pb2,
        "ScenarioAdmin",
    ),
]


@pytest.mark.parametrize(("ours", "base", "module", "service"), SERVICES)
def test_every_declared_rpc_is_overridden(
    ours: type, base: type, module: object, service: str
) -> None:
    descriptor = module.DESCRIPTOR.services_by_name[service]  # type: ignore[attr-defined]
    methods = [m.name for m in descriptor.methods]
    assert methods, service
    generated_default = [m for m in methods if getattr(ours, m) is getattr(base, m)]
    assert generated_default == [], f"{service}: no handler for {generated_default}"
