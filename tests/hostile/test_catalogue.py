"""The catalogue of malformed and malicious requests (issue 9), against real gateways.

Every case is sent over mutual TLS to a running consortium (`tests.hostile._net`) and
must be answered with one precise status and reason, with nothing changed: every
replica's head, receipts and balances, every gateway's stored answers and refund
claims, and the orderer's queue are compared before and after (after a pause longer
than a block interval, so a late effect would show). Cases that tests/gateway or
tests/e2e already cover are listed in docs/FUZZING.md with where they are tested.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import pytest

from gateway import (
    enroll_member,
    load_ca,
    load_config,
    load_member_credentials,
    probe_refuses_tls12,
)
from gateway._auth import StoreMembership
from gateway._localstate import LocalState
from gateway._pb.riskshare.ledger.v1 import ledger_pb2
from gateway._pb.riskshare.psi.v1 import psi_pb2, psi_pb2_grpc
from gateway._peers import PeerChannels
from gateway._ratelimit import RateLimiter
from gateway._responder import PsiService
from gateway._server import add_psi, start_public_server
from gateway._snapshots import SnapshotBook
from gateway._stubs import ledger_stub, psi_stub
from gateway._worker import start_public_port
from ledger import (
    SEQ_TABLE,
    Store,
    approve_body,
    decode_transaction,
    encode,
    propose_body,
    sign_checkpoint,
)
from psi import prepare_query
from tests.hostile._net import LIST, MAX_BATCH, Answered, Net, Refusal, refusal, wait_for
from token_incentive import (
    QueryReceipt,
    SignedRequest,
    blinded_digest,
    receipt_body,
    response_digest,
    sign_receipt,
)

P = 2**255 - 19
# Encodings that are not canonical ristretto255 elements, or are the identity.
BAD_POINTS = {
    "identity": bytes(32),
    "field prime (non-canonical)": P.to_bytes(32, "little"),
    "prime + 2 (non-canonical)": (P + 2).to_bytes(32, "little"),
    "odd, a 'negative' field element": (1).to_bytes(32, "little"),
    "top bit set": b"\xff" * 32,
    "not on the curve": (2).to_bytes(32, "little"),
}


@pytest.fixture
def unchanged(net: Net) -> Iterator[None]:
    """The consortium's state is the same after the test as before it."""
    net.quiet()
    before = net.fingerprint()
    yield
    assert net.settled_fingerprint() == before


def _evaluate(net: Net, caller: str, request: Any, target: str = "bank-a") -> Any:
    return psi_stub(net.channel(caller, target)).EvaluateBatch(request, timeout=30)


def _evaluate_request(
    net: Net,
    signed: SignedRequest,
    blinded: bytes,
    *,
    list_type: str = LIST,
    normaliser: str = "v1",
    responder: str = "bank-a",
) -> Any:
    return psi_pb2.EvaluateRequest(
        list_type=list_type,
        normaliser_version=normaliser,
        signed_request=signed.to_bytes(),
        blinded=blinded,
        key_id=net.key_id(responder),
    )


def _signed_for(net: Net, querier: str, elements: list[bytes]) -> SignedRequest:
    """A request ``querier`` really signs, committing to exactly ``elements``."""
    signed, _ = net.request(
        querier,
        "bank-a",
        ["13800138000"],
        item_count=len(elements),
        blinded_digest=blinded_digest(elements),
    )
    return signed


def _request_fields(signed: SignedRequest) -> dict[str, Any]:
    r = signed.request
    return {name: getattr(r, name) for name in r.__dataclass_fields__}


def _submit(net: Net, caller: str, raw: bytes) -> Any:
    request = ledger_pb2.SubmitRequest(transaction=raw, wait=True)
    return ledger_stub(net.channel(caller, "orderer")).SubmitTransaction(request, timeout=30)


# -- oversized batches --------------------------------------------------------------


def test_batch_over_the_responders_maximum(net: Net, unchanged: None) -> None:
    pending = prepare_query(
        LIST, [("phone", f"135{i:08d}") for i in range(MAX_BATCH + 1)], os.urandom
    )
    signed = _signed_for(net, "bank-c", list(pending.blinded))
    request = _evaluate_request(net, signed, pending.request())
    assert refusal(lambda: _evaluate(net, "bank-c", request)) == Refusal(
        "INVALID_ARGUMENT", "malformed", "malformed request"
    )


def test_batch_larger_than_its_signed_count(net: Net, unchanged: None) -> None:
    signed, pending = net.request("bank-c", "bank-a", ["13800138000"])
    extra = prepare_query(LIST, [("phone", "13500000001")], os.urandom).request()
    request = _evaluate_request(net, signed, pending.request() + extra)
    found = refusal(lambda: _evaluate(net, "bank-c", request))
    assert (found.code, found.reason) == ("INVALID_ARGUMENT", "bad_request")


def test_message_over_the_transport_limit(net: Net, unchanged: None) -> None:
    request = psi_pb2.EvaluateRequest(list_type=LIST, blinded=os.urandom(17 << 20))
    found = refusal(lambda: _evaluate(net, "bank-c", request))
    assert found.code == "RESOURCE_EXHAUSTED"  # refused by gRPC before any handler
    assert (
        psi_stub(net.channel("bank-c", "bank-a"))
        .GetInfo(psi_pb2.GetInfoRequest(), timeout=10)
        .member_id
        == "bank-a"
    )


# -- truncated streams ----------------------------------------------------------------


@pytest.mark.parametrize("method", ["EvaluateBatch", "SubmitTransaction", "GetCommitment"])
def test_truncated_request_message(net: Net, unchanged: None, method: str) -> None:
    """Request bytes cut short: refused by the error boundary, not gRPC's INTERNAL."""
    signed, pending = net.request("bank-c", "bank-a", ["13800138000"])
    whole = {
        "EvaluateBatch": _evaluate_request(net, signed, pending.request()),
        "SubmitTransaction": ledger_pb2.SubmitRequest(
            transaction=net.tx("bank-c", "credits.hits", {"items": []})
        ),
        "GetCommitment": psi_pb2.GetCommitmentRequest(list_type=LIST),
    }[method].SerializeToString()
    service = "ledger.v1.Ledger" if method == "SubmitTransaction" else "psi.v1.Psi"
    target = "orderer" if method == "SubmitTransaction" else "bank-a"
    call = net.channel("bank-c", target).unary_unary(
        f"/riskshare.{service}/{method}",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b,
    )
    for cut in (whole[: len(whole) // 2], whole[:-1], whole[:1]):
        assert refusal(partial(call, cut, timeout=10)) == Refusal(
            "INVALID_ARGUMENT", "malformed", "malformed request"
        )


class _Truncating(psi_pb2_grpc.PsiServicer):
    """bank-a's real responder, with its snapshot stream cut the way ``mode`` says."""

    def __init__(self, inner: PsiService, mode: str) -> None:
        self.inner = inner
        self.mode = mode

    def GetInfo(self, request: Any, context: Any) -> Any:
        return self.inner.GetInfo(request, context)

    def GetCommitment(self, request: Any, context: Any) -> Any:
        return self.inner.GetCommitment(request, context)

    def StreamSnapshot(self, request: Any, context: Any) -> Iterator[Any]:
        for chunk in self.inner.StreamSnapshot(request, context):
            if self.mode == "ends before the last chunk":
                yield psi_pb2.SnapshotChunk(
                    epoch=chunk.epoch, index=0, data=chunk.data[: len(chunk.data) // 2]
                )
                return
            if self.mode == "last chunk cut short":
                chunk.data = chunk.data[:-5]
            if self.mode == "chunks out of order":
                chunk.index = 1
            yield chunk


@pytest.mark.parametrize(
    "mode", ["ends before the last chunk", "last chunk cut short", "chunks out of order"]
)
def test_truncated_snapshot_stream_is_never_kept(
    net: Net, unchanged: None, tmp_path: Path, mode: str
) -> None:
    """A responder whose snapshot stream is cut: the querier keeps nothing of it."""
    member = net.consortium.members["bank-a"]
    config = load_config(member.config_path)
    credentials = load_member_credentials(member.member_dir)
    net.ports.pop("bank-a").stop(0)
    store = Store(config.ledger_path, create=False)
    local = LocalState(tmp_path / "hostile-gateway.sqlite")
    inner = PsiService(
        member_id="bank-a",
        signing_key=credentials.signing_key,
        store=store,
        index_path=config.index_path,
        local=local,
        elements=RateLimiter(1e9, 1e9, unit="elements"),
        rng=os.urandom,
    )
    hostile = start_public_server(
        credentials,
        config.gateway.listen,
        StoreMembership(store),
        [add_psi(_Truncating(inner, mode))],
        requests_per_second=1000.0,
        burst_seconds=1.0,
        reuse_port=False,
    )
    querier = net.nodes["bank-c"]
    peers = PeerChannels(querier.credentials, querier.reader)
    book = SnapshotBook(tmp_path / "snapshots", querier.reader, peers)
    try:
        errors = book.sync_all([LIST], "bank-c", time.time_ns() // 1_000_000)
        assert "does not match the ledger" in errors["bank-a/transaction_fraud"]
        assert [peer for peer, _, _ in book.held()] == ["bank-b"]  # the honest one only
        assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == [
            "bank-b.transaction_fraud.snap"
        ]
    finally:
        peers.close()
        hostile.stop(0)
        local.close()
        store.close()
        net.ports["bank-a"] = start_public_port(config, credentials, reuse_port=False)


# -- wrong list types -----------------------------------------------------------------


def test_wrong_list_types(net: Net, unchanged: None) -> None:
    psi = psi_stub(net.channel("bank-c", "bank-a"))
    found = {
        "commitment, unknown list": refusal(
            lambda: psi.GetCommitment(psi_pb2.GetCommitmentRequest(list_type="nope"), timeout=10)
        ),
        "snapshot, a list bank-a does not hold": refusal(
            lambda: list(
                psi.StreamSnapshot(
                    psi_pb2.StreamSnapshotRequest(list_type="marketing_abuse"), timeout=10
                )
            )
        ),
    }
    signed, pending = net.request("bank-c", "bank-a", ["13800138000"])
    found["request for one list sent as another"] = refusal(
        lambda: _evaluate(
            net,
            "bank-c",
            _evaluate_request(net, signed, pending.request(), list_type="marketing_abuse"),
        )
    )
    for list_type in ("marketing_abuse", "nope"):
        other, pending = net.request("bank-c", "bank-a", ["13800138000"], list_type=list_type)
        request = _evaluate_request(net, other, pending.request(), list_type=list_type)
        found[f"signed for {list_type}"] = refusal(partial(_evaluate, net, "bank-c", request))
    codes = {name: (r.code, r.reason) for name, r in found.items()}
    assert codes == {
        "commitment, unknown list": ("NOT_FOUND", "unknown_list"),
        "snapshot, a list bank-a does not hold": ("NOT_FOUND", "not_published"),
        "request for one list sent as another": ("INVALID_ARGUMENT", "bad_request"),
        "signed for marketing_abuse": ("PERMISSION_DENIED", "not_publisher"),
        "signed for nope": ("NOT_FOUND", "unknown_list_type"),
    }


# -- identity and non-canonical points ------------------------------------------------


@pytest.mark.parametrize("name", sorted(BAD_POINTS))
def test_identity_and_non_canonical_points(net: Net, unchanged: None, name: str) -> None:
    good = prepare_query(LIST, [("phone", "13800138000")], os.urandom).blinded[0]
    for elements in ([BAD_POINTS[name]], [good, BAD_POINTS[name]]):
        # The request commits to exactly these bytes: only the point check can refuse.
        signed = _signed_for(net, "bank-c", elements)
        request = _evaluate_request(net, signed, b"".join(elements))
        assert refusal(partial(_evaluate, net, "bank-c", request)) == Refusal(
            "INVALID_ARGUMENT", "malformed", "malformed request"
        )
        bucket = psi_pb2.BucketQueryRequest(
            evaluate=request, prefix_bits=1, prefixes=bytes(len(elements))
        )
        stub = psi_stub(net.channel("bank-c", "bank-a"))
        found = refusal(partial(stub.BucketQuery, bucket, timeout=10))
        # Check first, work second: the signed request, admission and the points are
        # checked before any bucket is read (these lists are also far under the
        # 4096-entry floor, a refusal that would cost the responder the bucket reads).
        assert found == Refusal("INVALID_ARGUMENT", "malformed", "malformed request")


# -- stale sequence numbers -----------------------------------------------------------


def test_stale_sequence_numbers(net: Net, unchanged: None) -> None:
    state = net.nodes["orderer"].store.state()
    last = state.get(SEQ_TABLE, "bank-a")
    assert isinstance(last, int)
    body = propose_body("set_params", {"set": {"gov.proposal_ttl_ms": 86_400_000}, "unset": []})
    for seq in (last, last - 1, 1):
        raw = net.tx("bank-a", "gov.propose", body, seq=seq)
        found = refusal(partial(_submit, net, "bank-a", raw))
        # The code is for programs (a submitter signs again above it), the text for people.
        assert (found.code, found.reason) == ("FAILED_PRECONDITION", "stale_sequence")
        assert "sequence number" in found.details
    # The same transaction, already committed, sent again: the orderer answers where
    # it already is (a retry after a lost answer must not fail), and adds nothing.
    store = net.nodes["orderer"].store
    committed = store.block_txs(1)[0]
    answer = _submit(net, "bank-a", committed)
    assert answer.committed and answer.height == 1
    assert answer.tx_id == hashlib.sha256(committed).digest()


# -- forged receipts --------------------------------------------------------------------


def _answer(net: Net, signed: SignedRequest, responder: str = "bank-a") -> Any:
    evaluated = [os.urandom(32)]  # what the responder claims to have sent
    proof = os.urandom(64)
    return sign_receipt(
        QueryReceipt(signed.digest, response_digest(evaluated, proof), time.time_ns() // 10**6),
        net.credentials(responder).signing_key,
    )


def test_forged_receipts(net: Net, unchanged: None) -> None:
    """bank-a records receipts for queries bank-c never asked it, to charge bank-c."""
    cases: dict[str, dict[str, Any]] = {}
    # A request "from bank-c" that bank-a signed itself.
    forged, _ = net.request("bank-c", "bank-a", ["13800138000"], signer="bank-a")
    cases["querier signature is not bank-c's"] = receipt_body(forged, _answer(net, forged))
    # bank-c's real request, but to bank-b: bank-c never asked bank-a.
    to_b, _ = net.request("bank-c", "bank-b", ["13800138000"])
    cases["request made to another responder"] = receipt_body(to_b, _answer(net, to_b))
    # bank-c's real request to bank-a, with the item count raised after signing.
    real, _ = net.request("bank-c", "bank-a", ["13800138000"])
    tampered = {**_request_fields(real), "item_count": 50}
    data = encode("credits-request", 1, tampered)
    cases["request altered after signing"] = {
        **receipt_body(real, _answer(net, real)),
        "request": data,
    }
    # The receipt is signed by bank-b, not by the responder that records it.
    cases["receipt not signed by the responder"] = receipt_body(
        real, _answer(net, real, responder="bank-b")
    )
    codes = {}
    for name, body in cases.items():
        raw = net.tx("bank-a", "credits.receipt", body)
        found = refusal(partial(_submit, net, "bank-a", raw))
        codes[name] = (found.code, found.reason)
    assert set(codes.values()) == {("FAILED_PRECONDITION", "refused")}, codes


def test_a_recorded_receipt_cannot_be_recorded_again(
    net: Net, answered: Answered, unchanged: None
) -> None:
    store = net.nodes["orderer"].store
    recorded = [
        stx.tx
        for height in range(1, store.height + 1)
        for stx in map(decode_transaction, store.block_txs(height))
        if stx.tx.kind == "credits.receipt"
    ]
    assert recorded, "no receipt recorded yet"
    tx = recorded[0]
    raw = net.tx(tx.member, "credits.receipt", dict(tx.body))  # fresh sequence number
    found = refusal(lambda: _submit(net, tx.member, raw))
    assert (found.code, found.reason) == ("FAILED_PRECONDITION", "refused")


# -- a member impersonating another --------------------------------------------------


def test_member_impersonating_another(net: Net, unchanged: None) -> None:
    """bank-c's certificate, requests claiming to be bank-b."""
    # Claims bank-b as querier, signed with bank-c's own key.
    claimed, pending = net.request("bank-b", "bank-a", ["13800138000"], signer="bank-c")
    found = refusal(
        lambda: _evaluate(net, "bank-c", _evaluate_request(net, claimed, pending.request()))
    )
    assert (found.code, found.reason) == ("PERMISSION_DENIED", "permission_denied")
    # bank-b's genuinely signed request, relayed by bank-c.
    genuine, pending = net.request("bank-b", "bank-a", ["13800138000"])
    found = refusal(
        lambda: _evaluate(net, "bank-c", _evaluate_request(net, genuine, pending.request()))
    )
    assert (found.code, found.reason) == ("PERMISSION_DENIED", "permission_denied")
    # A ledger transaction in bank-b's name, signed by bank-c.
    key = net.credentials("bank-c").signing_key
    raw = net.tx("bank-b", "credits.hits", {"items": [["00" * 32]]}, key=key)
    found = refusal(lambda: _submit(net, "bank-c", raw))
    assert (found.code, found.reason) == ("FAILED_PRECONDITION", "bad_signature")
    assert "bad signature by 'bank-b'" in found.details
    # A checkpoint in bank-b's name, handed in by bank-c.
    info = net.nodes["orderer"].store.head()
    assert info is not None
    checkpoint = sign_checkpoint(info.header, info.signature, "bank-b", key)
    message = ledger_pb2.Checkpoint(
        height=info.height, member_id="bank-b", encoded=checkpoint.encode()
    )
    found = refusal(
        lambda: ledger_stub(net.channel("bank-c", "orderer")).SubmitCheckpoint(message, timeout=10)
    )
    assert (found.code, found.reason) == ("PERMISSION_DENIED", "permission_denied")


# -- plaintext and TLS below 1.3 on the orderer's port --------------------------------


def test_orderer_port_refuses_plaintext_and_tls12(net: Net, unchanged: None) -> None:
    address = net.address("orderer")
    with grpc.insecure_channel(address) as channel:
        found = refusal(
            lambda: ledger_stub(channel).GetHead(ledger_pb2.GetHeadRequest(), timeout=5)
        )
    assert found.code == "UNAVAILABLE"
    member = net.consortium.members["bank-c"].member_dir
    host, _, port = address.rpartition(":")
    assert probe_refuses_tls12(
        host,
        int(port),
        ca_file=member / "ca.crt",
        cert_file=member / "tls.crt",
        key_file=member / "tls.key",
    )


# -- a revoked certificate ----------------------------------------------------------------


def test_revoked_certificate(net: Net, tmp_path: Path) -> None:
    """bank-d's TLS certificate is replaced through governance (a compromised key):
    from that height the old certificate is refused on every port, and nothing it
    asks is answered or charged."""
    old = net.credentials("bank-d")
    psi = psi_stub(net.channel("bank-d", "bank-a"))
    assert psi.GetInfo(psi_pb2.GetInfoRequest(), timeout=10).member_id == "bank-a"  # let in
    ca = load_ca(net.consortium.root / "consortium" / "ca")
    renewed = enroll_member(
        ca,
        tmp_path / "bank-d",
        member_id="bank-d",
        name="Bank D",
        address=net.address("bank-d"),
        now=dt.datetime.now(dt.UTC),
    )
    args = {"id": "bank-d", "tls_fingerprint": renewed.tls_fingerprint}
    proposal = net.tx("bank-a", "gov.propose", propose_body("rotate", args))
    assert _submit(net, "bank-a", proposal).committed
    proposal_id = hashlib.sha256(proposal).hexdigest()  # a proposal's id is its tx id
    for member in ("bank-b", "bank-c"):
        assert _submit(
            net, member, net.tx(member, "gov.approve", approve_body(proposal_id))
        ).committed

    def rotated() -> bool:
        return all(
            isinstance(row := node.store.state().get("gov.members", "bank-d"), dict)
            and row["tls_fingerprint"] == renewed.tls_fingerprint
            for node in net.nodes.values()
        )

    wait_for(rotated)
    net.quiet()
    before = net.fingerprint()
    signed, pending = net.request("bank-d", "bank-a", ["13800138000"])
    for port in ("bank-a", "bank-b"):
        channel = net.channel("bank-d", port)
        found = refusal(partial(psi_stub(channel).GetInfo, psi_pb2.GetInfoRequest(), timeout=10))
        assert (found.code, found.reason) == ("UNAUTHENTICATED", "unauthenticated")
    orderer = ledger_stub(net.channel("bank-d", "orderer"))
    found = refusal(lambda: orderer.GetHead(ledger_pb2.GetHeadRequest(), timeout=10))
    assert (found.code, found.reason) == ("UNAUTHENTICATED", "unauthenticated")
    found = refusal(
        lambda: _evaluate(net, "bank-d", _evaluate_request(net, signed, pending.request()))
    )
    assert (found.code, found.reason) == ("UNAUTHENTICATED", "unauthenticated")
    assert net.settled_fingerprint() == before
    assert old.fingerprint != renewed.tls_fingerprint
