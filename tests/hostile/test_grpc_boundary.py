"""Arbitrary field values in every RPC, against real gateways over mutual TLS.

For each method of every service a gateway serves — the consortium port (Psi, Ledger,
Scenarios), the orderer's port (Ledger) and the member's own admin socket (Admin,
ScenarioAdmin) — hypothesis builds request messages from the method's protobuf
descriptor: every field arbitrary (text, bytes, integers at their edges, nested
messages, repeated fields), mixed with values that reach further (real list types,
member ids, key ids, a signed request already answered, real and non-canonical
group elements, a committed transaction). Each answer must be a precise status:
OK, or a refusal from the one error boundary (it carries the ``riskshare-reason``
trailer) — never UNKNOWN or INTERNAL. A refused call changes nothing: every replica's
head, receipts and balances, every gateway's stored answers, and the orderer's queue
are compared before and after; the consortium-facing calls must change nothing at
all, since no arbitrary request is a valid new one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway._pb.riskshare.admin.v1 import admin_pb2
from gateway._pb.riskshare.ledger.v1 import ledger_pb2
from gateway._pb.riskshare.psi.v1 import psi_pb2
from gateway._pb.riskshare.scenarios.v1 import scenarios_pb2
from gateway._status import REASON_KEY
from tests.hostile._net import LIST, Answered, Net

P = 2**255 - 19


@dataclass(frozen=True)
class Seeds:
    """Values that get past the first checks: all from the running consortium."""

    texts: tuple[str, ...]
    blobs: tuple[bytes, ...]


@pytest.fixture(scope="module")
def seeds(net: Net, answered: Answered) -> Seeds:
    signed, pending, answer = answered.signed, answered.pending, answered.response
    committed = net.nodes["orderer"].store.block_txs(net.nodes["orderer"].store.height)
    texts = (
        LIST,
        "marketing_abuse",
        "high_risk_account",
        "phone",
        "cn_id",
        "v1",
        "bank-a",
        "bank-b",
        "bank-c",
        "regulator",
        "orderer",
        net.key_id("bank-a"),
        signed.receipt_id,
        "scf.issue",
        "credits.receipt",
        "13800138000",
        "138 0013 8000",
    )
    blobs = (
        signed.to_bytes(),
        pending.request(),
        pending.request() * 3,
        bytes(32),  # the identity element
        P.to_bytes(32, "little"),  # non-canonical
        b"\xff" * 32,
        bytes(answer.evaluated),
        bytes(answer.signed_receipt),
        *committed,
    )
    return Seeds(texts, blobs)


def _field(field: FieldDescriptor, seeds: Seeds, depth: int) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        single: st.SearchStrategy[Any] = st.one_of(
            st.text(max_size=40), st.sampled_from(seeds.texts)
        )
    elif kind == FieldDescriptor.TYPE_BYTES:
        single = st.one_of(st.binary(max_size=300), st.sampled_from(seeds.blobs))
    elif kind == FieldDescriptor.TYPE_BOOL:
        single = st.booleans()
    elif kind in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        single = st.one_of(st.integers(0, 64), st.integers(0, 2**64 - 1))
    elif kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        single = st.one_of(st.integers(0, 64), st.integers(0, 2**32 - 1))
    elif kind in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64):
        single = st.integers(-(2**63), 2**63 - 1)
    elif kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32):
        single = st.integers(-(2**31), 2**31 - 1)
    elif kind == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        single = st.sampled_from([v.number for v in field.enum_type.values])
    elif kind == FieldDescriptor.TYPE_MESSAGE:
        assert field.message_type is not None
        single = message(field.message_type, seeds, depth + 1)
    else:  # pragma: no cover - no other types in our protos
        raise AssertionError(f"unhandled field type {kind}")
    if field.label == FieldDescriptor.LABEL_REPEATED:  # type: ignore[attr-defined]
        return st.lists(single, max_size=4)
    return single


def message(descriptor: Descriptor, seeds: Seeds, depth: int = 0) -> st.SearchStrategy[Any]:
    """Messages of ``descriptor`` with every field arbitrary (or left at its default)."""
    cls = message_factory.GetMessageClass(descriptor)
    if depth > 2:
        return st.just(cls())
    fields = {f.name: st.one_of(st.just(None), _field(f, seeds, depth)) for f in descriptor.fields}

    def build(values: dict[str, Any]) -> Any:
        return cls(**{k: v for k, v in values.items() if v is not None})

    return st.fixed_dictionaries(fields).map(build)


@dataclass(frozen=True)
class Rpc:
    where: str  # "member", "orderer" or "admin"
    service: str
    method: MethodDescriptor

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.method.name}"

    def __str__(self) -> str:
        return f"{self.where}:{self.service.rsplit('.', 1)[-1]}/{self.method.name}"


def _rpcs() -> list[Rpc]:
    out = []
    for where, module, names in (
        ("member", psi_pb2, ["Psi"]),
        ("member", ledger_pb2, ["Ledger"]),
        ("member", scenarios_pb2, ["Scenarios"]),
        ("orderer", ledger_pb2, ["Ledger"]),
        ("admin", admin_pb2, ["Admin"]),
        ("admin", scenarios_pb2, ["ScenarioAdmin"]),
    ):
        for name in names:
            service = module.DESCRIPTOR.services_by_name[name]
            out += [Rpc(where, service.full_name, m) for m in service.methods]
    return out


RPCS = _rpcs()


_ADMIN: dict[str, Any] = {}


def _admin_channel(net: Net) -> Any:
    if "channel" not in _ADMIN:
        socket = net.consortium.members["bank-c"].data_dir / "admin.sock"
        _ADMIN["channel"] = grpc.insecure_channel(f"unix:{socket}")
    return _ADMIN["channel"]


def _invoke(net: Net, rpc: Rpc, request: Any) -> tuple[str, str]:
    """Call ``rpc`` as bank-c; the status code name and the boundary's reason."""
    if rpc.where == "admin":
        channel = _admin_channel(net)
    else:
        channel = net.channel("bank-c", "orderer" if rpc.where == "orderer" else "bank-a")
    response = message_factory.GetMessageClass(rpc.method.output_type)
    follow = getattr(request, "follow", False)
    try:
        if rpc.method.server_streaming:
            call = channel.unary_stream(
                rpc.path,
                request_serializer=type(request).SerializeToString,
                response_deserializer=response.FromString,
            )
            stream = call(request, timeout=2.0 if follow else 20.0)
            for _ in zip(range(3), stream, strict=False):
                pass
            stream.cancel()
        else:
            call = channel.unary_unary(
                rpc.path,
                request_serializer=type(request).SerializeToString,
                response_deserializer=response.FromString,
            )
            call(request, timeout=20.0)
    except grpc.RpcError as error:
        rpc_error: Any = error
        code = rpc_error.code()
        if follow and code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return "OK", ""  # our own deadline on a stream that follows the chain
        return code.name, dict(rpc_error.trailing_metadata() or ()).get(REASON_KEY, "")
    return "OK", ""


def _tame(net: Net, rpc: Rpc, request: Any) -> Any:
    # A Cosign naming a height a little ahead makes the server wait up to ten seconds
    # for its replica (by design); the wait tells nothing, so those heights are moved.
    if rpc.method.name == "Cosign":
        height = net.nodes["bank-a"].store.height
        if 0 < request.min_height - height <= 1000:
            request.min_height = 0
    return request


@pytest.fixture(scope="module")
def observed() -> Iterator[dict[str, set[tuple[str, str]]]]:
    found: dict[str, set[tuple[str, str]]] = {}
    yield found
    # Printed with -s; docs/FUZZING.md records a run of it.
    for name, codes in sorted(found.items()):
        print(name, sorted(codes))


@pytest.mark.parametrize("rpc", RPCS, ids=str)
def test_arbitrary_fields_get_a_precise_status_and_change_nothing(
    net: Net, seeds: Seeds, rpc: Rpc, observed: dict[str, set[tuple[str, str]]]
) -> None:
    net.quiet()
    start = net.fingerprint()
    strategy = message(rpc.method.input_type, seeds)

    @settings(
        max_examples=10,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(strategy)
    def attack(request: Any) -> None:
        request = _tame(net, rpc, request)
        before = net.fingerprint()
        code, reason = _invoke(net, rpc, request)
        assert code not in ("UNKNOWN", "INTERNAL"), (rpc.path, request, code, reason)
        observed.setdefault(str(rpc), set()).add((code, reason))
        if code != "OK":
            assert reason, f"{rpc.path} refused with {code} outside the error boundary"
            assert net.fingerprint() == before, f"a refused {rpc.path} changed state"
        elif rpc.where == "admin":
            net.settled_fingerprint()  # let what the operator started land first

    attack()
    if rpc.where != "admin":  # the operator's own socket may legitimately change things
        assert net.settled_fingerprint() == start, f"{rpc.path} changed state"


@pytest.mark.parametrize("height", [2**63 - 1, 2**63, 2**64 - 1])
@pytest.mark.parametrize("where", ["member", "orderer"])
def test_heights_beyond_the_stores_integers(net: Net, where: str, height: int) -> None:
    """uint64 on the wire, signed 64-bit in SQLite: found by the test above (an
    OverflowError that became INTERNAL); now such a height simply names no block."""
    service = ledger_pb2.DESCRIPTOR.services_by_name["Ledger"]
    requests = {
        "StreamBlocks": ledger_pb2.StreamBlocksRequest(from_height=height),
        "StreamCheckpoints": ledger_pb2.StreamCheckpointsRequest(from_height=height),
        "SubmitCheckpoint": ledger_pb2.Checkpoint(height=height),
    }
    before = net.fingerprint()
    for name, request in requests.items():
        rpc = Rpc(where, service.full_name, service.methods_by_name[name])
        code, reason = _invoke(net, rpc, request)
        assert code not in ("UNKNOWN", "INTERNAL"), (name, code)
        assert code == "OK" or reason, (name, code)
    assert net.fingerprint() == before
