"""Reading credits back: balances, statements by epoch, ranking, receipts and disputes."""

from __future__ import annotations

import pytest

from token_incentive import (
    CreditsError,
    balance_of,
    confirm_body,
    dispute_body,
    dispute_of,
    disputes,
    find_receipt,
    history,
    hits_body,
    ranking,
    resolve_body,
    statement,
    supply,
)

from ._net import T0, Net

LT = "transaction_fraud"


@pytest.fixture
def net() -> Net:
    n = Net()
    for m in n.members:
        n.publish(m, LT)
    return n


def test_statements_by_epoch_add_up_and_say_why(net: Net) -> None:
    with pytest.raises(CreditsError, match="no credits activity"):
        statement(net.state, "alpha")
    ab = net.query("alpha", "bravo", LT, 4, T0 + 10)
    net.apply("alpha", "credits.hits", hits_body([[ab]]), T0 + 11)
    net.settle()  # epoch 0, at the end of epoch 2
    later = net.query("alpha", "charlie", LT, 2, net.last_time + 1)
    net.settle()
    whole = statement(net.state, "alpha")
    assert whole.consistent and whole.opening == 0
    assert whole.closing == balance_of(net.state, "alpha").balance
    assert whole.totals["charged"] == 6000 and whole.totals["grant"] == 2_000_000
    epoch_of_later = net.receipt(later)["epoch"]
    part = statement(net.state, "alpha", epoch_of_later, epoch_of_later)
    # By block time: epoch 3 saw epoch 0 settled (W = 2 days later) and the second query.
    assert part.consistent and [line.ref for line in part.lines] == [f"{0:012d}", later]
    assert part.opening == -4000
    assert history(net.state, "alpha", 1)[0].kind == "settle"
    assert (
        sum(v.balance for v in map(lambda m: balance_of(net.state, m), net.members))
        == (supply(net.state)["supply"])
    )


def test_balance_view(net: Net) -> None:
    net.query("alpha", "bravo", LT, 3, T0 + 10)
    view = balance_of(net.state, "alpha")
    assert (view.balance, view.settled, view.pending_charges) == (-3000, 0, 3000)
    assert view.available == view.overdraft - 3000 and view.last_settled == -1


def test_receipts_by_prefix_and_disputes(net: Net) -> None:
    ab = net.query("alpha", "bravo", LT, 2, T0 + 10)
    ac = net.query("alpha", "charlie", LT, 2, T0 + 10)
    assert find_receipt(net.state, ab[:10].upper())[0] == ab
    with pytest.raises(CreditsError, match="at least 8"):
        find_receipt(net.state, ab[:4])
    with pytest.raises(CreditsError, match="no receipt"):
        find_receipt(net.state, "00000000")
    net.apply("alpha", "credits.hits", hits_body([[ab, ac], [ab]]), T0 + 11)
    net.apply("alpha", "credits.feedback", dispute_body(ab, [1]), T0 + 12)
    net.apply("alpha", "credits.feedback", confirm_body(ac), T0 + 12)
    assert [d["id"] for d in disputes(net.state, "filed", "bravo")] == [ab]
    assert disputes(net.state, "upheld") == [] and disputes(net.state, member="charlie") == []
    d = dispute_of(net.state, ab[:12])
    assert (d["holder"], d["hits"], d["ks"], d["obligation"]) == ("bravo", [1], [1], None)
    net.apply("obs", "credits.resolve", resolve_body(ab, "upheld", "no evidence"), T0 + 10**9)
    assert dispute_of(net.state, ab)["obligation"]["status"] == "open"
    with pytest.raises(CreditsError):
        resolve_body(ab, "maybe")


def test_ranking_of_a_settled_epoch(net: Net) -> None:
    with pytest.raises(CreditsError, match="not been settled"):
        ranking(net.state)
    ab = net.query("alpha", "bravo", LT, 2, T0 + 10)
    net.apply("alpha", "credits.hits", hits_body([[ab]]), T0 + 11)
    net.settle()
    epoch, rows = ranking(net.state)
    assert epoch == 0 and rows[0].member == "bravo" and rows[0].tp == 1
    assert [r.rank for r in rows] == [1, 2, 3]
