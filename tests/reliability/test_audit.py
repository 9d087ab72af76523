"""The campaign's audit catches every way the invariants can break (synthetic replicas)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from tests.reliability._audit import ReplicaView, audit
from tests.reliability._load import Answer, QueryRecord, percentile

T = 1_800_000_000_000


def _receipt(querier: str, responder: str, charge: int = 1000) -> dict[str, Any]:
    return {"querier": querier, "responder": responder, "charge": charge, "status": "recorded"}


def _view(party: str, **changes: Any) -> ReplicaView:
    receipts = {"r1": _receipt("bank-a", "bank-b"), "r2": _receipt("bank-b", "bank-a")}
    base = ReplicaView(
        party=party,
        height=10,
        head=b"h" * 32,
        state_digest=b"d" * 32,
        chain_error="",
        receipts=receipts,
        requests={"r1": ("bank-a", T), "r2": ("bank-b", T)},
        receipt_txs=Counter({"r1": 1, "r2": 1}),
        refused_receipt_txs=Counter(),
        balances={"bank-a": -1000, "bank-b": -1000},
        supply={"supply": -2000, "charges": 2000},
    )
    return dataclasses.replace(base, **changes)


RECORDS = [
    QueryRecord("bank-a", 0.0, 5.0, (Answer("bank-b", "", "r1"),)),
    QueryRecord("bank-b", 0.0, 5.0, (Answer("bank-a", "", "r2"),)),
]
BOOKS = {"bank-a": {"committed": 1}, "bank-b": {"committed": 1}}
MEMBERS = ["bank-a", "bank-b"]


def _check(views: list[ReplicaView], records: list[QueryRecord] = RECORDS, **kw: Any) -> Any:
    return audit(views, records, kw.pop("books", BOOKS), MEMBERS, **kw)


def test_identical_replicas_pass() -> None:
    result = _check([_view("orderer"), _view("bank-a"), _view("bank-b")])
    assert result.ok, result.problems
    assert result.receipts == 2 and result.records_checked == 6


def test_each_broken_invariant_is_reported() -> None:
    cases = {
        "heads differ": [_view("orderer"), _view("bank-a", head=b"x" * 32)],
        "state digests differ": [_view("orderer"), _view("bank-a", state_digest=b"x" * 32)],
        "chain verification failed": [_view("orderer"), _view("bank-a", chain_error="bad")],
        "different receipt sets": [
            _view("orderer"),
            _view("bank-a", receipts={"r1": _receipt("bank-a", "bank-b")}),
        ],
        "recorded twice": [_view("orderer", receipt_txs=Counter({"r1": 2, "r2": 1}))],
        "different balances": [_view("orderer"), _view("bank-a", balances={"bank-a": 0})],
        "Σ balances != supply": [_view("orderer", supply={"supply": 0, "charges": 2000})],
        "Σ receipt charges": [_view("orderer", supply={"supply": -2000, "charges": 1})],
    }
    for problem, views in cases.items():
        result = _check(views)
        assert not result.ok
        assert any(problem in p for p in result.problems), (problem, result.problems)


def test_an_answered_receipt_missing_from_the_ledger_is_lost() -> None:
    records = [*RECORDS, QueryRecord("bank-a", 0.0, 5.0, (Answer("bank-b", "", "r9"),))]
    result = _check([_view("orderer")], records)
    assert result.lost == 1 and not result.ok


def test_a_charge_without_an_answer_is_reported_unless_its_querier_was_killed() -> None:
    result = _check([_view("orderer")], RECORDS[:1])
    assert result.charged_without_answer == 1 and not result.ok
    # bank-b's gateway was killed 100 ms after it signed r2: the query was in flight.
    result = _check([_view("orderer")], RECORDS[:1], kills=[("bank-b", T + 100)])
    assert result.ok and result.querier_crashed == 1
    # Killed long before it signed r2: no excuse.
    result = _check([_view("orderer")], RECORDS[:1], kills=[("bank-b", T - 60_000)])
    assert result.charged_without_answer == 1


def test_answers_a_responder_never_got_on_the_ledger_are_reported() -> None:
    books = {"bank-a": {"committed": 1, "refused": 1}, "bank-b": {"committed": 1, "pending": 2}}
    result = _check([_view("orderer")], books=books)
    assert result.not_recorded == 3 and not result.ok


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 50) == 0.0
