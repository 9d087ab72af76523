"""OPRF key rotation without failed queries (gateway._rotation), in one process.

The responder answers under the key a request names — the new one, or the old one
while it is kept and not retired — so queriers whose replica has not seen the new key
are still answered; its worker port notices the rotation made by another process and
serves the new snapshot; the old key is retired after the grace period, and from then
on a request naming it is refused. An answer made under the old key and recorded after
the new epoch is on the ledger is judged against the old key, the one the request
signed: the querier cannot have its charge refunded for a correct answer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

import gateway._recorder as recorder_module
from gateway._localstate import Answered, LocalState
from gateway._pb.riskshare.psi.v1 import psi_pb2
from gateway._recorder import Recorder
from gateway._rotation import KEY_GRACE_MS, RetainedKeys, rotate_oprf_key
from gateway._stubs import psi_stub
from psi import decode_elements, prepare_query, verify_evaluation
from tests.reliability._inprocess import LIST, Net, in_process_net, wait
from token_incentive import QueryRequest, SignedRequest, sign_request


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    with in_process_net(tmp_path_factory.mktemp("rotation")) as running:
        yield running


def _ask(
    net: Net, key_id: str, value: str = "13800138000", *, unsigned: str | None = None
) -> tuple[Any, Any, SignedRequest]:
    """bank-a asks bank-b directly, naming ``key_id`` in its signed request and in the
    EvaluateRequest (there ``unsigned`` instead, if given); (blinded, response, request)."""
    querier = net.nodes["bank-a"]
    pending = prepare_query(LIST, [("phone", value)], os.urandom)
    request = QueryRequest(
        request_id=os.urandom(16),
        querier="bank-a",
        responder="bank-b",
        list_type=LIST,
        id_type="phone",
        item_count=1,
        purpose_code="screening",
        legal_basis="legitimate_interest",
        consent_ref=None,
        blinded_digest=pending.digest(),
        seq=time.time_ns() // 1000,
        time=time.time_ns() // 1_000_000,
        normaliser_version="v1",
        key_id=key_id,
    )
    signed = sign_request(request, querier.credentials.signing_key)
    stub = psi_stub(querier.peers.channel("bank-b"))
    response = stub.EvaluateBatch(
        psi_pb2.EvaluateRequest(
            list_type=LIST,
            normaliser_version="v1",
            signed_request=signed.to_bytes(),
            blinded=pending.request(),
            key_id=key_id if unsigned is None else unsigned,
        ),
        timeout=10,
    )
    return pending.blinded, response, signed


def _verify(net: Net, key_id: str, blinded: Any, response: Any) -> None:
    row: Any = net.nodes["bank-a"].store.state().get("pub.oprf_keys", f"bank-b/{key_id}")
    assert isinstance(row, dict)
    evaluated = decode_elements(bytes(response.evaluated))
    verify_evaluation(row["public_key"], list(blinded), evaluated, bytes(response.proof))


def _published_key(net: Net, party: str) -> str:
    row: Any = net.nodes[party].store.state().get("pub.index", f"bank-b/{LIST}")
    return str(row["key_id"])


def _active(node: Any, key_id: str) -> Any:
    row: Any = node.store.state().get("pub.oprf_keys", f"bank-b/{key_id}")
    return row["active"]


def _retirement_waits_for_the_answers_under_the_key(
    net: Net, tmp_path: Path, old: str, now: int
) -> None:
    """A recorder of bank-b (its ledger and submitter; its own answers and kept keys)
    holding an unrecorded answer under ``old`` does not retire it; once the answer is
    on the ledger, it does."""
    node = net.nodes["bank-b"]
    data_dir = net.consortium.members["bank-b"].data_dir
    source = RetainedKeys(data_dir / "gateway.sqlite")
    try:
        pair = source.get(old)
    finally:
        source.close()
    assert pair is not None
    local, kept = LocalState(tmp_path / "answers.sqlite"), RetainedKeys(tmp_path / "kept.sqlite")
    try:
        kept.retain(LIST, pair, now)
        local.record_answer(
            Answered("0" * 64, "bank-a", LIST, 1, now, b"", b"", b"", b"", b"", old)
        )
        recorder = Recorder(
            "bank-b", node.store, local, node.submitter, data_dir / "index.sqlite", retained=kept
        )
        assert recorder.retire_keys(now) == []
        assert kept.held() == [(old, LIST)] and _active(node, old) is True
        local.mark("0" * 64, "committed", height=1)
        assert recorder.retire_keys(now) == [old]
        assert kept.held() == []
    finally:
        local.close()
        kept.close()


def test_both_keys_answer_during_a_rotation_and_the_old_one_is_retired(
    net: Net, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # bank-b's worker port has its index open, with the key in memory, before rotating.
    first = net.nodes["bank-a"].querier.query(LIST, "phone", ["13700137000"], members=["bank-b"])
    assert first.answers[0].ok and first.answers[0].hits == (True,)
    old = _published_key(net, "bank-a")
    rotation = rotate_oprf_key(net.consortium.members["bank-b"].data_dir, LIST)
    assert rotation.old_key_id == old and rotation.new_key_id != old
    # Whatever the ledger shows yet, a request naming the old key is answered under it
    # (the kept key), and one naming the new key under the new one (the index).
    blinded, response, _ = _ask(net, old)
    assert response.key_id == old
    _verify(net, old, blinded, response)
    wait(lambda: _published_key(net, "bank-a") == rotation.new_key_id, what="new key on ledger")
    blinded, response, _ = _ask(net, rotation.new_key_id)
    assert response.key_id == rotation.new_key_id
    _verify(net, rotation.new_key_id, blinded, response)
    blinded, response, signed = _ask(net, old)
    _verify(net, old, blinded, response)
    # That answer's receipt is recorded after the new epoch: the ledger keeps the key the
    # request signed, and judges a refund claim for the correct answer against it.
    wait(lambda: signed.receipt_id in net.receipts("bank-a"), what="receipt recorded")
    recorded = net.receipts("bank-a")[signed.receipt_id]
    assert (recorded["key_id"], recorded["index"]["key_id"]) == (old, rotation.new_key_id)
    claim = {
        "receipt": signed.receipt_id,
        "blinded": list(blinded),
        "evaluated": decode_elements(bytes(response.evaluated)),
        "proof": bytes(response.proof),
    }
    refused = net.nodes["bank-a"].submitter.submit("credits.refund", claim)
    assert not refused.ok and "the response verifies" in refused.reason, refused
    head = net.nodes["orderer"].store.height
    wait(lambda: net.nodes["bank-a"].store.height >= head, what="bank-a at the head")
    assert net.receipts("bank-a")[signed.receipt_id]["status"] == "recorded"
    # The querier's snapshot follows the ledger: the worker serves the new epoch's
    # snapshot (under the new key), which bank-a verifies against the commitment.
    result = net.nodes["bank-a"].querier.query(
        LIST, "phone", ["13700137000", "13500135000"], members=["bank-b"]
    )
    (answer,) = result.answers
    assert answer.ok, answer.error
    assert answer.hits == (True, False) and answer.epoch == rotation.epoch
    # Grace over: the old key is retired on the ledger and its secret deleted — but not
    # while an answer made under it waits to be recorded (its receipt would be refused).
    net.quiet()
    node = net.nodes["bank-b"]
    now = time.time_ns() // 1_000_000
    assert node.recorder.retire_keys(now) == []  # still in grace
    far = now + KEY_GRACE_MS + 1  # grace over, for these calls only
    _retirement_waits_for_the_answers_under_the_key(net, tmp_path, old, far)
    wait(lambda: _active(node, old) is False, what="bank-b sees the key retired")
    monkeypatch.setattr(recorder_module, "KEY_GRACE_MS", 0)
    # bank-b's own recorder finds it retired on the ledger and deletes its secret.
    assert node.recorder.retire_keys(time.time_ns() // 1_000_000) == [old]
    kept = RetainedKeys(net.consortium.members["bank-b"].data_dir / "gateway.sqlite")
    try:
        assert kept.held() == []
    finally:
        kept.close()
    head = net.nodes["orderer"].store.height
    wait(lambda: all(n.store.height >= head for n in net.nodes.values()), what="retirement")
    row: Any = net.nodes["bank-a"].store.state().get("pub.oprf_keys", f"bank-b/{old}")
    assert row["active"] is False
    with pytest.raises(grpc.RpcError) as info:
        _ask(net, old)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "retired" in (info.value.details() or "")


def test_a_key_never_committed_is_refused_and_nothing_is_recorded(net: Net) -> None:
    before = len(net.answered("bank-b"))
    with pytest.raises(grpc.RpcError) as info:
        _ask(net, "00" * 16)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "is not an OPRF key of bank-b" in (info.value.details() or "")
    assert len(net.answered("bank-b")) == before


def test_a_request_must_ask_for_the_key_it_signs(net: Net) -> None:
    """The signed key decides: an EvaluateRequest naming another is refused unanswered."""
    before = len(net.answered("bank-b"))
    current = _published_key(net, "bank-a")
    with pytest.raises(grpc.RpcError) as info:
        _ask(net, current, unsigned="00" * 16)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "signs another OPRF key" in (info.value.details() or "")
    assert len(net.answered("bank-b")) == before
