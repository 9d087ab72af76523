"""OPRF key rotation without failed queries (gateway._rotation), in one process.

The responder answers under the key a request names — the new one, or the old one
while it is kept and not retired — so queriers whose replica has not seen the new key
are still answered; its worker port notices the rotation made by another process and
serves the new snapshot; the old key is retired after the grace period, and from then
on a request naming it is refused.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

import gateway._recorder as recorder_module
from gateway._pb.riskshare.psi.v1 import psi_pb2
from gateway._rotation import RetainedKeys, rotate_oprf_key
from gateway._stubs import psi_stub
from psi import decode_elements, prepare_query, verify_evaluation
from tests.reliability._inprocess import LIST, Net, in_process_net, wait
from token_incentive import QueryRequest, sign_request


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    with in_process_net(tmp_path_factory.mktemp("rotation")) as running:
        yield running


def _ask(net: Net, key_id: str, value: str = "13800138000") -> tuple[Any, Any]:
    """bank-a asks bank-b directly, naming ``key_id``; (blinded, response)."""
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
    )
    signed = sign_request(request, querier.credentials.signing_key)
    stub = psi_stub(querier.peers.channel("bank-b"))
    response = stub.EvaluateBatch(
        psi_pb2.EvaluateRequest(
            list_type=LIST,
            normaliser_version="v1",
            signed_request=signed.to_bytes(),
            blinded=pending.request(),
            key_id=key_id,
        ),
        timeout=10,
    )
    return pending.blinded, response


def _verify(net: Net, key_id: str, blinded: Any, response: Any) -> None:
    row: Any = net.nodes["bank-a"].store.state().get("pub.oprf_keys", f"bank-b/{key_id}")
    assert isinstance(row, dict)
    evaluated = decode_elements(bytes(response.evaluated))
    verify_evaluation(row["public_key"], list(blinded), evaluated, bytes(response.proof))


def _published_key(net: Net, party: str) -> str:
    row: Any = net.nodes[party].store.state().get("pub.index", f"bank-b/{LIST}")
    return str(row["key_id"])


def test_both_keys_answer_during_a_rotation_and_the_old_one_is_retired(
    net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    # bank-b's worker port has its index open, with the key in memory, before rotating.
    first = net.nodes["bank-a"].querier.query(LIST, "phone", ["13700137000"], members=["bank-b"])
    assert first.answers[0].ok and first.answers[0].hits == (True,)
    old = _published_key(net, "bank-a")
    rotation = rotate_oprf_key(net.consortium.members["bank-b"].data_dir, LIST)
    assert rotation.old_key_id == old and rotation.new_key_id != old
    # Whatever the ledger shows yet, a request naming the old key is answered under it
    # (the kept key), and one naming the new key under the new one (the index).
    blinded, response = _ask(net, old)
    assert response.key_id == old
    _verify(net, old, blinded, response)
    wait(lambda: _published_key(net, "bank-a") == rotation.new_key_id, what="new key on ledger")
    blinded, response = _ask(net, rotation.new_key_id)
    assert response.key_id == rotation.new_key_id
    _verify(net, rotation.new_key_id, blinded, response)
    blinded, response = _ask(net, old)
    _verify(net, old, blinded, response)
    # The querier's snapshot follows the ledger: the worker serves the new epoch's
    # snapshot (under the new key), which bank-a verifies against the commitment.
    result = net.nodes["bank-a"].querier.query(
        LIST, "phone", ["13700137000", "13500135000"], members=["bank-b"]
    )
    (answer,) = result.answers
    assert answer.ok, answer.error
    assert answer.hits == (True, False) and answer.epoch == rotation.epoch
    # Grace over: the old key is retired on the ledger and its secret deleted.
    net.quiet()
    node = net.nodes["bank-b"]
    assert node.recorder.retire_keys(time.time_ns() // 1_000_000) == []  # still in grace
    monkeypatch.setattr(recorder_module, "KEY_GRACE_MS", 0)
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


def test_a_key_never_committed_is_refused_and_nothing_is_recorded(net: Net) -> None:
    before = len(net.answered("bank-b"))
    with pytest.raises(grpc.RpcError) as info:
        _ask(net, "00" * 16)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert len(net.answered("bank-b")) == before
