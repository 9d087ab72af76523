"""The consortium port's services, in process: request bytes parsed as each RPC's
message, then handed to the real servicer exactly as the interceptors hand them over
(the caller authenticated as bank-b), over a real ledger and bank-a's real index.

Contract: parsing raises protobuf's ``DecodeError`` or succeeds; the servicer then
answers, or raises an error the one error boundary (``gateway._status.refusal_for``)
maps to a precise status — never INTERNAL, which is what an exception nobody
anticipated becomes. A refused call changes nothing: the ledger head, the orderer's
queue and the responder's stored answers are the same afterwards.

``evaluate`` builds EvaluateBatch requests the way a hostile member can: a request it
really signs (with bank-b's key) whose fields, elements, list type, normaliser
version and key id are fuzzed, so the responder's admission rules are what is tested.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from gateway._interceptors import _CALL, CallInfo
from gateway._ledger_service import LedgerService
from gateway._localstate import LocalState
from gateway._pb.riskshare.ledger.v1 import ledger_pb2
from gateway._pb.riskshare.psi.v1 import psi_pb2
from gateway._pb.riskshare.scenarios.v1 import scenarios_pb2
from gateway._ratelimit import RateLimiter
from gateway._responder import PsiService
from gateway._scenarios import ScenarioPeerService
from gateway._status import refusal_for
from ledger import LedgerError, Replica, encode, get_member
from tests.fuzz._harness import OneInput, Picker, Target, vocabulary
from tests.fuzz._world import LIST, World, build_world, query_request
from token_incentive import SignedRequest, blinded_digest

PEER = "bank-b"
RESPONDER = "bank-a"


class _Context:
    """What the servicers read from a gRPC context: nothing but liveness and deadline."""

    def is_active(self) -> bool:
        return False  # a following stream ends after what is already there

    def time_remaining(self) -> float:
        return 0.05


@dataclass
class Services:
    world: World
    psi: PsiService
    ledger: LedgerService
    scenarios: ScenarioPeerService
    local: LocalState

    def state(self) -> tuple[Any, ...]:
        head = self.world.store.head()
        assert head is not None
        return head.hash, self.world.orderer.pending, sorted(self.local.counts().items())


_SERVICES: Services | None = None


def _services(scratch: Path) -> Services:
    global _SERVICES
    if _SERVICES is None:
        world = build_world(scratch / "world")
        local = LocalState(scratch / "gateway.sqlite")
        bank_a = world.net.members[RESPONDER]
        psi = PsiService(
            member_id=RESPONDER,
            signing_key=world.keys[RESPONDER],
            store=world.store,
            index_path=bank_a.data_dir / "index.sqlite",
            local=local,
            elements=RateLimiter(1e9, 1e9, unit="elements"),
            rng=os.urandom,
            max_batch=64,
        )
        ledger = LedgerService(
            world.store, orderer=world.orderer, replica=Replica(world.store, world.registry)
        )
        (scratch / "scenarios").mkdir()
        scenarios = ScenarioPeerService(
            member_id=RESPONDER,
            signing_key=world.keys[RESPONDER],
            store=world.store,
            registry=world.registry,
            data_dir=scratch / "scenarios",
            local=local,
            elements=RateLimiter(1e9, 1e9, unit="elements"),
        )
        _SERVICES = Services(world, psi, ledger, scenarios, local)
    return _SERVICES


def _call(services: Services, method: str, call: Callable[[], Any]) -> bool:
    """Run ``call`` as bank-b's RPC; True if it answered, False if it was refused."""
    peer = get_member(services.world.store.state(), PEER)
    token = _CALL.set(CallInfo(method=method, peer=peer))
    before = services.state()
    try:
        reply = call()
        if hasattr(reply, "__next__"):
            for _ in zip(range(3), reply, strict=False):
                pass
        return True
    except Exception as error:
        refusal = refusal_for(error)
        assert refusal.code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (
            f"{method} answered {refusal.code.name}: {type(error).__name__}: {error}"
        )
        assert services.state() == before, f"a refused {method} changed state"
        return False
    finally:
        _CALL.reset(token)


def _methods(services: Services) -> list[tuple[str, type[Any], Callable[[Any], Any]]]:
    context = _Context()
    psi, ledger, scen = services.psi, services.ledger, services.scenarios

    def no_follow(method: Callable[[Any, Any], Any]) -> Callable[[Any], Any]:
        return lambda request: method(request, context)

    def cosign(request: Any) -> Any:
        # A min_height a little ahead makes the server wait for the replica (at most
        # ten seconds, by design); fuzzing would only measure that wait.
        if request.min_height > services.world.store.height:
            request.min_height = 0
        return scen.Cosign(request, context)

    return [
        ("Psi/GetInfo", psi_pb2.GetInfoRequest, no_follow(psi.GetInfo)),
        ("Psi/GetCommitment", psi_pb2.GetCommitmentRequest, no_follow(psi.GetCommitment)),
        ("Psi/StreamSnapshot", psi_pb2.StreamSnapshotRequest, no_follow(psi.StreamSnapshot)),
        ("Psi/StreamDelta", psi_pb2.StreamDeltaRequest, no_follow(psi.StreamDelta)),
        ("Psi/EvaluateBatch", psi_pb2.EvaluateRequest, no_follow(psi.EvaluateBatch)),
        ("Psi/BucketQuery", psi_pb2.BucketQueryRequest, no_follow(psi.BucketQuery)),
        ("Psi/FetchResponse", psi_pb2.FetchResponseRequest, no_follow(psi.FetchResponse)),
        ("Ledger/GetHead", ledger_pb2.GetHeadRequest, no_follow(ledger.GetHead)),
        ("Ledger/StreamBlocks", ledger_pb2.StreamBlocksRequest, no_follow(ledger.StreamBlocks)),
        ("Ledger/SubmitTransaction", ledger_pb2.SubmitRequest, no_follow(ledger.SubmitTransaction)),
        ("Ledger/SubmitCheckpoint", ledger_pb2.Checkpoint, no_follow(ledger.SubmitCheckpoint)),
        (
            "Ledger/StreamCheckpoints",
            ledger_pb2.StreamCheckpointsRequest,
            no_follow(ledger.StreamCheckpoints),
        ),
        ("Scenarios/Cosign", scenarios_pb2.CosignRequest, cosign),
        (
            "Scenarios/EvaluateFingerprints",
            scenarios_pb2.FingerprintEvaluation,
            no_follow(scen.EvaluateFingerprints),
        ),
    ]


def _raw(scratch: Path) -> OneInput:
    services = _services(scratch)
    methods = _methods(services)

    def check(data: bytes) -> None:
        if not data:
            return
        method, message, handler = methods[data[0] % len(methods)]
        try:
            request = message.FromString(data[1:])
        except DecodeError:
            return
        _call(services, method, lambda: handler(request))

    return check


def _evaluate(scratch: Path) -> OneInput:
    services = _services(scratch)
    world = services.world
    words = (LIST, PEER, RESPONDER, "v1", *vocabulary("token_incentive"))
    index = world.index(RESPONDER)
    try:
        key_id = index.commitment(LIST).key_id.hex()
    finally:
        index.close()

    def check(data: bytes) -> None:
        pick = Picker(data)
        signed, pending = query_request(world, PEER, RESPONDER, ["13800138000", "13500000000"])
        fields = {
            "request_id": os.urandom(16),
            "querier": PEER,
            "responder": RESPONDER,
            "list_type": LIST,
            "id_type": "phone",
            "item_count": 2,
            "purpose_code": "screening",
            "legal_basis": "legitimate_interest",
            "consent_ref": None,
            "blinded_digest": pending.digest(),
            "seq": 1,
            "time": time.time_ns() // 1_000_000,
            "normaliser_version": "v1",
        }
        for _ in range(pick.int_in(0, 3)):
            name = pick.pick(sorted(fields))
            fields[name] = pick.value(words, [bytes(16), bytes(32), pending.digest()], depth=3)
        blinded = list(pending.blinded)
        choice = pick.int_in(0, 5)
        if choice == 1:
            blinded = blinded[:1]
        elif choice == 2:
            blinded[pick.int_in(0, 1)] = pick.pick([bytes(32), b"\xff" * 32, pick.blob(32)])
        elif choice == 3:
            blinded = blinded * pick.int_in(2, 40)
        try:
            data_bytes = encode("credits-request", 1, fields)
        except LedgerError:
            return
        signer = pick.pick([PEER, PEER, PEER, RESPONDER, "regulator"])
        signature = world.keys[signer].sign(data_bytes)
        transport = encode(
            "credits-signed-request", 1, {"data": data_bytes, "signature": signature}
        )
        request = psi_pb2.EvaluateRequest(
            list_type=pick.pick([LIST, LIST, "marketing_abuse", "nope", ""]),
            normaliser_version=pick.pick(["v1", "v1", "v0", ""]),
            signed_request=transport if pick.int_in(0, 7) else signed.to_bytes(),
            blinded=b"".join(blinded),
            key_id=pick.pick([key_id, key_id, "", "00" * 32]),
        )
        answered = _call(
            services, "Psi/EvaluateBatch", lambda: services.psi.EvaluateBatch(request, None)
        )
        if answered:  # only a request bank-b really signed, to bank-a, for these elements
            sent = SignedRequest.from_bytes(request.signed_request)
            sent.verify(world.keys[PEER].public_key().public_bytes_raw())
            assert (sent.request.querier, sent.request.responder) == (PEER, RESPONDER)
            assert sent.request.blinded_digest == blinded_digest(
                [request.blinded[i : i + 32] for i in range(0, len(request.blinded), 32)]
            )

    return check


def _raw_seeds(scratch: Path) -> Iterable[bytes]:
    services = _services(scratch)
    world = services.world
    signed, pending = query_request(world, PEER, RESPONDER, ["13800138000"])
    evaluate = psi_pb2.EvaluateRequest(
        list_type=LIST,
        normaliser_version="v1",
        signed_request=signed.to_bytes(),
        blinded=pending.request(),
    )
    seeds = [
        bytes([0]),
        bytes([1]) + psi_pb2.GetCommitmentRequest(list_type=LIST).SerializeToString(),
        bytes([2]) + psi_pb2.StreamSnapshotRequest(list_type=LIST).SerializeToString(),
        bytes([3]) + psi_pb2.StreamDeltaRequest(list_type=LIST, from_epoch=1).SerializeToString(),
        bytes([4]) + evaluate.SerializeToString(),
        bytes([5])
        + psi_pb2.BucketQueryRequest(
            evaluate=evaluate, prefix_bits=1, prefixes=b"\x00"
        ).SerializeToString(),
        bytes([6]) + psi_pb2.FetchResponseRequest(receipt_id=signed.receipt_id).SerializeToString(),
        bytes([8]) + ledger_pb2.StreamBlocksRequest(from_height=1).SerializeToString(),
        bytes([9]) + ledger_pb2.SubmitRequest(transaction=world.txs[-1]).SerializeToString(),
        bytes([12])
        + scenarios_pb2.CosignRequest(kind="scf.accept", object="x").SerializeToString(),
        bytes([13])
        + scenarios_pb2.FingerprintEvaluation(
            signed_request=signed.to_bytes(), blinded=pending.request()
        ).SerializeToString(),
    ]
    return seeds


def _choice_seeds(scratch: Path) -> Iterable[bytes]:
    return [hashlib.sha512(bytes([i])).digest() for i in range(16)]


TARGETS = [Target("raw", _raw, _raw_seeds), Target("evaluate", _evaluate, _choice_seeds)]
