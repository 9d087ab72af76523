"""The kit's screening receipts (``scenarios.kit.Screening``, ``use_screening``): a step
backed by a riskshare query the member made and the responder recorded, consumed one
identifier at a time, by its querier only, while fresh; each refusal changes nothing."""

from __future__ import annotations

from collections.abc import Iterable

from scenarios.kit import (
    NEW,
    Machine,
    Primitive,
    Schema,
    Screening,
    SetAttr,
    SetParty,
    Transition,
    View,
    build_contract,
)
from tests.scenarios._net import Net


def _screen(v: View) -> Iterable[Primitive]:
    yield SetParty("owner", v.actor)
    yield SetAttr("screen", v.payload["receipt"])


APPS = Machine(
    "scr",
    "application",
    [
        Transition(
            "screen",
            frozenset({NEW}),
            frozenset({"SCREENED"}),
            frozenset({"owner"}),
            Schema({"receipt": Screening()}),
            _screen,
        )
    ],
)


def test_a_screening_receipt_backs_as_many_steps_as_it_screened() -> None:
    net = Net({"lender": "member", "bank-b": "member"}, [build_contract("scr", [APPS])])
    batch = net.receipt("lender", "bank-b", 2, "transaction_fraud", "cn_id")
    net.step(APPS, "lender", "screen", "A1", {"receipt": batch})
    assert APPS.load(net.state, "A1").attrs["screen"] == batch
    net.step(APPS, "lender", "screen", "A2", {"receipt": batch})
    net.refused(
        "covered 2 identifiers, all already used",
        net.step,
        APPS,
        "lender",
        "screen",
        "A3",
        {"receipt": batch},
    )
    # Another member cannot use it; nor can anyone use a query never recorded, or a
    # fingerprint evaluation, or a query more than 30 days old.
    theirs = net.receipt("bank-b", "lender", 1, "transaction_fraud", "cn_id")
    net.refused(
        "another member's query", net.step, APPS, "lender", "screen", "A3", {"receipt": theirs}
    )
    net.refused(
        "no recorded screening receipt",
        net.step,
        APPS,
        "lender",
        "screen",
        "A3",
        {"receipt": "0" * 64},
    )
    evaluation = net.fp_receipt("lender", 1)
    net.refused(
        "a fingerprint evaluation is not a screening receipt",
        net.step,
        APPS,
        "lender",
        "screen",
        "A3",
        {"receipt": evaluation},
    )
    net.refused(
        "must be the id of a recorded query receipt",
        net.step,
        APPS,
        "lender",
        "screen",
        "A3",
        {"receipt": "not-a-receipt"},
    )
    old = net.receipt("lender", "bank-b", 1, "transaction_fraud", "phone")
    net.at("2025-02-06")  # 31 days after the query
    net.refused("older than 30 days", net.step, APPS, "lender", "screen", "A3", {"receipt": old})
