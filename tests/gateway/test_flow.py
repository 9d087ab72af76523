"""The query flow in one process: orderer, three members, real mTLS on loopback.

Lists go in through the adapters' import, commitments onto the ledger through the
recorder, queries through the querier; answers are checked against the lists, receipts
against every replica. The same flow across separate processes is tests/e2e.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from gateway._node import Node
from gateway._pb.riskshare.psi.v1 import psi_pb2
from gateway._querier import _reply
from gateway._stubs import psi_stub
from psi import (
    Entry,
    IndexStore,
    bucket_bits_for,
    decode_elements,
    encode_elements,
    prepare_query,
)
from tests.reliability._inprocess import Net, in_process_net, wait
from token_incentive import QueryReceipt, SignedReceipt, response_digest, sign_receipt

LISTS = {
    "bank-a": [
        ("transaction_fraud", "phone", "13800138000", 1),
        ("transaction_fraud", "phone", "13900139000", 2),
    ],
    "bank-b": [
        ("transaction_fraud", "phone", "13800138000", 3),
        ("transaction_fraud", "phone", "13700137000", 1),
        ("transaction_fraud", "cn_id", "11010519491231002X", 4),
    ],
    "bank-c": [("transaction_fraud", "phone", "13600136000", 1)],
}


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    # The consortium's default parameters: the flow is judged as members would run it.
    with in_process_net(tmp_path_factory.mktemp("flow"), LISTS, params=None) as n:
        yield n


def test_answers_match_the_lists_and_receipts_reach_every_replica(net: Net) -> None:
    querier = net.nodes["bank-c"].querier
    values = ["138 0013 8000", "+86 137-0013-7000", "13500135000", "not a phone"]
    result = querier.query("transaction_fraud", "phone", values)
    assert result.accepted == (0, 1, 2)
    assert result.rejected == ((3, "phone_format"),)
    by_member = {a.member_id: a for a in result.answers}
    assert set(by_member) == {"bank-a", "bank-b"}  # bank-c does not ask itself
    assert by_member["bank-a"].hits == (True, False, False)
    assert by_member["bank-b"].hits == (True, True, False)
    assert by_member["bank-b"].labels[0] is not None and by_member["bank-b"].labels[0].reason == 3
    receipts = {a.receipt_id for a in result.answers}
    # The responders record the receipts; every replica ends with the same chain.
    responders = [net.nodes["bank-a"], net.nodes["bank-b"]]
    wait(lambda: all(n.local.counts().get("committed", 0) >= 1 for n in responders))
    head = net.nodes["orderer"].store.height
    wait(lambda: all(n.store.height >= head for n in net.nodes.values()))
    hashes = {n.store.block_info(head).hash for n in net.nodes.values()}  # type: ignore[union-attr]
    assert len(hashes) == 1
    for node in net.nodes.values():
        for receipt_id in receipts:
            row = node.store.state().get("credits.receipts", receipt_id)
            assert isinstance(row, dict) and row["querier"] == "bank-c"


def test_one_member_only_and_other_id_types(net: Net) -> None:
    querier = net.nodes["bank-a"].querier
    result = querier.query(
        "transaction_fraud",
        "cn_id",
        ["110105194912310021", "11010519491231002x"],
        members=["bank-b"],
    )
    assert [a.member_id for a in result.answers] == ["bank-b"]
    # The first has a wrong check digit and is rejected; the second is listed.
    assert result.rejected == ((0, "cn_id_check"),)
    assert result.answers[0].hits == (True,)


def test_a_signed_answer_whose_proof_fails_is_refunded(net: Net) -> None:
    """The refund path: a responder signs a receipt over an answer whose DLEQ proof does
    not verify (a cheating responder, played here with bank-b's own keys and index);
    the querier detects it, keeps the evidence, and claims the charge back on the
    ledger once the receipt is recorded; every replica applies the refund."""
    querier_node, responder_node = net.nodes["bank-a"], net.nodes["bank-b"]
    _quiet(net)  # earlier tests' receipts are all charged before the balance is read
    querier = querier_node.querier
    context = querier._context("bank-b", "transaction_fraud", False)
    pending = prepare_query("transaction_fraud", [("phone", "13800138000")], os.urandom)
    signed = querier._request(
        pending,
        "bank-b",
        "transaction_fraud",
        "phone",
        "screening",
        context.normaliser,
        context.key_id,
    )
    index = IndexStore(net.consortium.members["bank-b"].data_dir / "index.sqlite", pool=None)
    try:
        evaluated, _ = index.evaluate("transaction_fraud", list(pending.blinded), os.urandom)
    finally:
        index.close()
    wrong = (1).to_bytes(32, "little") + (2).to_bytes(32, "little")  # canonical, but false
    receipt = sign_receipt(
        QueryReceipt(signed.digest, response_digest(evaluated, wrong), int(time.time() * 1000)),
        responder_node.credentials.signing_key,
    )
    response = psi_pb2.EvaluateResponse(
        evaluated=encode_elements(evaluated),
        proof=wrong,
        key_id=context.key_id,
        signed_receipt=receipt.to_bytes(),
    )
    charged_before = _balance(querier_node, "bank-a")
    answer = querier._answer(
        "bank-b", "transaction_fraud", context, pending, signed, _reply(response), 0
    )
    assert answer.error_code == "DATA_LOSS" and answer.refund_pending
    assert [r[0] for r in querier_node.local.refunds("waiting")] == [signed.receipt_id]
    # The cheating responder records its receipt, charging bank-a ...
    body = {
        "request": signed.data,
        "request_sig": signed.signature,
        "receipt": receipt.data,
        "receipt_sig": receipt.signature,
    }
    assert responder_node.submitter.submit("credits.receipt", body).ok
    wait(lambda: _receipt(querier_node, signed.receipt_id) is not None)
    assert _balance(querier_node, "bank-a") < charged_before
    # ... and bank-a's recorder claims it back; the ledger re-checks the proof.
    wait(lambda: querier_node.local.refunds("waiting") == [])
    wait(lambda: (_receipt(querier_node, signed.receipt_id) or {}).get("status") == "refunded")
    assert _balance(querier_node, "bank-a") == charged_before
    head = net.nodes["orderer"].store.height
    wait(lambda: all(n.store.height >= head for n in net.nodes.values()))
    for node in net.nodes.values():
        assert _receipt(node, signed.receipt_id)["status"] == "refunded"  # type: ignore[index]


def _quiet(net: Net) -> None:
    def quiet() -> bool:
        busy = any(
            n.local.counts().get(state, 0)
            for n in net.nodes.values()
            for state in ("pending", "submitted")
        )
        heights = {n.store.height for n in net.nodes.values()}
        return not busy and len(heights) == 1

    wait(quiet)


def _receipt(node: Node, receipt_id: str) -> dict[str, Any] | None:
    row = node.store.state().get("credits.receipts", receipt_id)
    return row if isinstance(row, dict) else None


def _balance(node: Node, member_id: str) -> int:
    row = node.store.state().get("credits.accounts", member_id)
    return int(row["balance"]) if isinstance(row, dict) else 0


def test_bucket_mode_without_a_snapshot(net: Net) -> None:
    """A querier keeping no snapshot asks for the buckets of its identifiers' hash
    prefixes; bucket mode needs a list with at least 2 x 4096 entries per bucket."""
    bank_c = net.consortium.members["bank-c"]
    extra = [Entry("phone", f"135{i:08d}", 1) for i in range(16_400)]
    index = IndexStore(bank_c.data_dir / "index.sqlite")
    try:
        index.apply("transaction_fraud", extra, now=int(time.time()))
        size = index.size("transaction_fraud")
    finally:
        index.close()
    assert bucket_bits_for(size) >= 1
    assert net.nodes["bank-c"].recorder.publish() == ["transaction_fraud"]
    head = net.nodes["orderer"].store.height
    wait(lambda: all(n.store.height >= head for n in net.nodes.values()))
    result = net.nodes["bank-a"].querier.query(
        "transaction_fraud",
        "phone",
        ["13500001234", "13600136000", "13700137000"],
        members=["bank-c"],
        bucket_mode=True,
    )
    (answer,) = result.answers
    assert answer.error_code == "", answer.error
    assert answer.hits == (True, True, False)


def test_a_lost_answer_can_be_fetched_again_by_its_querier_only(net: Net) -> None:
    result = net.nodes["bank-c"].querier.query(
        "transaction_fraud", "phone", ["13800138000"], members=["bank-a"]
    )
    receipt_id = result.answers[0].receipt_id
    request = psi_pb2.FetchResponseRequest(receipt_id=receipt_id)
    own = psi_stub(net.nodes["bank-c"].peers.channel("bank-a"))
    again = own.FetchResponse(request, timeout=10)
    signed = SignedReceipt.from_bytes(bytes(again.signed_receipt))
    evaluated = decode_elements(bytes(again.evaluated))
    assert signed.receipt.response_digest == response_digest(evaluated, bytes(again.proof))
    other = psi_stub(net.nodes["bank-b"].peers.channel("bank-a"))
    with pytest.raises(grpc.RpcError) as info:
        other.FetchResponse(request, timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
