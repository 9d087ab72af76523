"""Epoch settlement: exact recomputation, refusals, decay, cap, charges, epoch schedule."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from token_incentive import compute_settlement, params_from_state, settlement_due
from token_incentive._book import last_settled

from ._net import DAY, T0, Net

LT = "transaction_fraud"


@pytest.fixture
def net() -> Net:
    n = Net()
    for m in n.members:
        n.publish(m, LT)
    n.set_params(
        grant=10_000,
        cap=50_000,
        decay=[1, 2],
        serve_reward=100,
        serve_cap=5,
        hit_reward=300,
        quality_prior=[1, 1],
    )
    return n


def _entry(body: dict[str, Any], member: str) -> dict[str, Any]:
    return next(e for e in body["entries"] if e["member"] == member)


def test_a_settlement_by_hand(net: Net) -> None:
    # Epoch 0: alpha asks bravo 8 items (served capped at 5) and charlie 2; one hit at
    # both (k = 2) and one at bravo only.
    t = T0 + 1000
    ab = net.query("alpha", "bravo", LT, 8, t)
    ac = net.query("alpha", "charlie", LT, 2, t)
    net.apply("alpha", "credits.hits", {"items": [[ab, ac], [ab]]}, t + 1)
    body = net.settle()
    a, b, c = (_entry(body, m) for m in ("alpha", "bravo", "charlie"))
    assert (a["grant"], a["charges"], a["delta"], a["settled"]) == (10_000, 10_000, 10_000, 0)
    # q = (0 + 1)/(0 + 0 + 1 + 1) = 1/2 (lagged: this epoch's hits do not count yet).
    assert (b["served"], b["hits"]) == (500, int(300 * 0.5 * 1.5))
    assert (c["served"], c["hits"]) == (200, int(300 * 0.5 * 0.5))
    assert net.balance("alpha") == 0 and net.balance("bravo") == 10_000 + 500 + 225
    # Epoch 1: nothing happens. Decay halves positive B, the grant comes again.
    body = net.settle()
    assert _entry(body, "bravo")["decay"] == (10_725 + 1) // 2
    assert net.balance("bravo") == 10_725 // 2 + 10_000
    assert net.balance("alpha") == 0 + 10_000  # B was 0: nothing to decay
    ranking = body["ranking"]
    assert [r["member"] for r in ranking] == ["bravo", "charlie", "alpha"]
    assert ranking[0]["q"] == [3, 4]  # (2 + 1)/(2 + 0 + 2)
    assert net.conservation_gap() == 0


def test_charges_bite_in_full_even_at_the_cap(net: Net) -> None:
    net.set_params(cap=12_000, decay=[9, 10])
    for _ in range(3):
        net.settle()
    assert net.balance("alpha") == 12_000  # pinned at the cap by its grant
    rid = net.query("alpha", "bravo", LT, 3, net.settle_time(2) + 1)
    body = net.settle()
    while body["epoch"] < net.receipt(rid)["epoch"]:
        body = net.settle()
    assert _entry(body, "alpha")["charges"] == 3000
    assert net.balance("alpha") == 12_000 - 3000
    assert net.conservation_gap() == 0


def test_debts_do_not_decay(net: Net) -> None:
    net.set_params(grant=0)
    net.query("alpha", "bravo", LT, 5, T0 + 1)
    for _ in range(3):
        net.settle()
    assert net.balance("alpha") == -5000


def test_settlement_refusals_change_nothing(net: Net) -> None:
    net.query("alpha", "bravo", LT, 3, T0 + 10)
    body: Any = compute_settlement(net.state, 0)
    early = net.settle_time(0) - 1
    assert "may be settled from" in net.refused("alpha", "credits.settle", body, early)
    at = net.settle_time(0)
    tampered = copy.deepcopy(body)
    _entry(tampered, "bravo")["delta"] += 1
    assert "differs" in net.refused("alpha", "credits.settle", tampered, at)
    for field, value in [("ranking", []), ("end", body["end"] + 1), ("disputes", ["x"])]:
        reason = net.refused("alpha", "credits.settle", {**body, field: value}, at)
        assert f"differs from the one computed from state (in {field})" in reason
    skipped = compute_settlement(net.state, 1)
    assert "next epoch to settle is 0" in net.refused("alpha", "credits.settle", skipped, at)
    net.apply("obs", "credits.settle", body, at)  # any member, observers included
    assert "next epoch to settle is 1" in net.refused("alpha", "credits.settle", body, at)


def test_a_stale_proposal_is_refused(net: Net) -> None:
    t = T0 + 10
    ab = net.query("alpha", "bravo", LT, 1, t)
    net.apply("alpha", "credits.hits", {"items": [[ab]]}, t)
    stale = compute_settlement(net.state, 0)
    net.apply("alpha", "credits.feedback", {"receipt": ab, "action": "dispute"}, t + 1)
    reason = net.refused("alpha", "credits.settle", stale, net.settle_time(0))
    assert "differs" in reason and "entries" in reason
    net.settle()


def test_settlement_due(net: Net) -> None:
    assert settlement_due(net.state, net.settle_time(0) - 1) is None
    assert settlement_due(net.state, net.settle_time(0)) == 0
    net.settle()
    assert settlement_due(net.state, net.settle_time(0)) is None
    assert settlement_due(net.state, net.settle_time(1)) == 1


def test_a_new_epoch_length_starts_after_the_current_epoch(net: Net) -> None:
    t = T0 + DAY // 2
    net.query("alpha", "bravo", LT, 1, t)
    net.set_params(epoch_ms=DAY // 4)
    # Epoch 0 keeps its bounds [T0, T0 + DAY); epochs from 1 on last a quarter day.
    rid = net.query("alpha", "charlie", LT, 1, t + 1)
    assert net.receipt(rid)["epoch"] == 0
    late = net.query("alpha", "charlie", LT, 1, T0 + DAY + DAY // 4 + 1)
    assert net.receipt(late)["epoch"] == 2
    segments = net.state.get("credits.meta", "schedule")
    assert segments == [[0, T0, DAY], [1, T0 + DAY, DAY // 4]]
    body = net.settle(now=T0 + DAY + params_from_state(net.state).feedback_window_ms)
    assert (body["start"], body["end"]) == (T0, T0 + DAY)
    assert last_settled(net.state) == 0
    # A receipt can never land in an epoch already settled.
    assert net.receipt(late)["epoch"] > last_settled(net.state)
