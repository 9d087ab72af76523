"""Watch evaluations: charged for the epochs they buy, never a cheap query, no rewards.

``token_incentive._watch`` states the rules; these tests hold the contract to them on
the in-memory net the other credits tests use.
"""

from __future__ import annotations

from typing import Any

import pytest

from ledger import ContractError
from token_incentive import (
    WATCH_PURPOSE,
    AdmissionRefused,
    check_request,
    compute_settlement,
    params_from_state,
    refund_body,
    regulator_report,
    statement,
    watches,
)

from ._net import T0, Net

LT = "transaction_fraud"


@pytest.fixture
def net() -> Net:
    n = Net()
    for m in n.members:
        n.publish(m, LT)
    return n


def test_default_watch_charge_is_the_query_price_over_thirty_epochs(net: Net) -> None:
    p = params_from_state(net.state)
    assert p.watch_epochs == 30
    assert p.watch_price_of(LT) == 34  # ⌈1000 / 30⌉ milli-credits per identifier per epoch
    assert p.watch_charge(LT) == 1020
    assert p.watch_price_of("marketing_abuse") == 17


def test_a_watch_receipt_charges_the_term_counts_the_book_and_serves_nothing(net: Net) -> None:
    now = T0 + 1000
    rid = net.query("alpha", "bravo", LT, 40, now, purpose=WATCH_PURPOSE, key_id=None)
    r = net.receipt(rid)
    assert (r["charge"], r["watch"], r["purpose"]) == (40 * 1020, True, WATCH_PURPOSE)
    assert net.balance("alpha") == -40 * 1020
    assert net.state.get("credits.served", f"{0:012d}/bravo/alpha") is None
    # A second batch of the same evaluation (same key, same epoch) adds to the book's size.
    net.query("alpha", "bravo", LT, 2, now + 1, purpose=WATCH_PURPOSE)
    (row,) = watches(net.state)
    assert (row.watcher, row.responder, row.list_type, row.items) == ("alpha", "bravo", LT, 42)
    assert (row.epoch, row.until) == (0, 30)
    assert watches(net.state, watcher="bravo") == []
    assert net.conservation_gap() == 0
    # Settlement pays no served reward for a watch.
    net.query("charlie", "bravo", LT, 3, now + 2)
    body: Any = compute_settlement(net.state, 0)
    served = {e["member"]: e["served"] for e in body["entries"]}
    assert served["bravo"] == 3 * params_from_state(net.state).serve_reward


def test_a_watch_receipt_takes_no_hits_and_is_refunded_without_touching_served(net: Net) -> None:
    now = T0 + 1000
    rid = net.query("alpha", "bravo", LT, 2, now, purpose=WATCH_PURPOSE)
    before = net.snapshot()
    reason = net.refused("alpha", "credits.hits", {"items": [[rid]]}, now + 1)
    assert "watch evaluation: it takes no hits" in reason
    assert net.snapshot() == before
    net.query("alpha", "bravo", LT, 5, now + 2)  # an ordinary query: 5 served
    # A watch answer with the wrong number of elements is refunded in full ...
    signed = net.request("alpha", "bravo", LT, 2, now + 3, purpose=WATCH_PURPOSE)
    body = net.receipt_body(signed, now + 3, evaluated=[b"\x01" * 32])
    net.apply("bravo", "credits.receipt", body, now + 3)
    blinded, evaluated, proof = net.responses[signed.receipt_id]
    claim = refund_body(signed.receipt_id, blinded, evaluated, proof)
    net.apply("alpha", "credits.refund", claim, now + 4)
    assert net.receipt(signed.receipt_id)["status"] == "refunded"
    assert net.balance("alpha") == -(2 * 1020 + 5 * 1000)
    # ... and withdraws nothing from what bravo served alpha (a watch served nothing).
    assert net.state.get("credits.served", f"{0:012d}/bravo/alpha") == 5
    assert net.conservation_gap() == 0


def test_admission_counts_the_watch_charge(net: Net) -> None:
    now = T0 + 1000
    p = params_from_state(net.state)
    # Room for a query of n items at c_L, not for a watch of them (it costs 2 % more).
    items = p.overdraft // 1000
    signed = net.request("alpha", "bravo", LT, items, now)
    check_request(net.state, signed, "bravo", now)
    watch = net.request("alpha", "bravo", LT, items, now, purpose=WATCH_PURPOSE)
    with pytest.raises(AdmissionRefused) as exc:
        check_request(net.state, watch, "bravo", now)
    assert exc.value.code == "over_overdraft"


def test_watch_parameters_never_make_a_watch_a_cheaper_query(net: Net) -> None:
    # The contract's param_check, which governance runs before a change takes effect.
    with pytest.raises(ContractError, match="may not be a cheaper query"):
        net.set_params(watch_price={LT: 33})
    with pytest.raises(ContractError, match="without a price"):
        net.set_params(watch_price={"no_such_list": 100})
    with pytest.raises(ContractError, match=r"credits\.watch_epochs"):
        net.set_params(watch_price={}, watch_epochs=0)


def test_governance_sets_a_dearer_watch_price(net: Net) -> None:
    net.set_params(watch_price={LT: 100}, watch_epochs=10)
    rid = net.query("alpha", "bravo", LT, 3, T0 + 1000, purpose=WATCH_PURPOSE)
    assert net.receipt(rid)["charge"] == 3 * 100 * 10
    (row,) = watches(net.state)
    assert row.until == row.epoch + 10


def test_the_regulator_report_reconciles_with_every_members_statement(net: Net) -> None:
    now = T0 + 1000
    ab = net.query("alpha", "bravo", LT, 3, now)
    ac = net.query("alpha", "charlie", LT, 2, now + 1)
    cb = net.query("charlie", "bravo", LT, 4, now + 2)
    net.query("alpha", "bravo", LT, 50, now + 3, purpose=WATCH_PURPOSE)
    net.apply("alpha", "credits.hits", {"items": [[ab, ac], [ab]]}, now + 10)
    net.apply(
        "alpha", "credits.feedback", {"receipt": ab, "action": "dispute", "hits": [1]}, now + 11
    )
    net.apply("alpha", "credits.feedback", {"receipt": ac, "action": "confirm"}, now + 12)
    rows = {r.member: r for r in regulator_report(net.state, 0)}
    a, b, c = rows["alpha"], rows["bravo"], rows["charlie"]
    assert (a.made, a.items_made, a.served, a.watched) == (3, 55, 0, 50)
    assert (b.made, b.served, b.items_served) == (0, 3, 57)
    assert (c.made, c.served) == (1, 1)
    assert (a.hits_reported, b.hits_received, c.hits_received) == (3, 2, 1)
    assert (a.confirmed, a.disputed) == (1, 1)
    assert a.disputes_filed == {"filed": 1} and b.disputes_against == {"filed": 1}
    # The next epoch: no query, but the watch's term still covers it.
    (later,) = regulator_report(net.state, 1)
    assert (later.member, later.made, later.watched) == ("alpha", 0, 50) and cb
    for member, row in rows.items():
        totals = statement(net.state, member, 0, 0).totals
        assert row.charged == totals.get("charged", 0), member
        assert row.refunded == totals.get("refunded", 0), member
