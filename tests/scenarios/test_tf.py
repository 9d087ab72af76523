"""Trade finance: the financing registry, duplicate alerts and their resolution."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from scenarios.tf import (
    ALERTS,
    ARCHIVED,
    CLEARED,
    CONTRACT,
    DUPLICATE_FLAGGED,
    EXACT,
    FINANCED,
    LAPSED,
    OPEN,
    REGISTERED,
    REGISTRATIONS,
    SETTLED,
    SIMILAR,
    WITHDRAWN,
    alerts_of,
)
from tests.scenarios._net import Net

MEMBERS = {"bank_a": "member", "bank_b": "member", "bank_c": "member", "registry": "observer"}


def fp(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def reg_payload(
    net: Net, fps: list[str], sims: list[str] | None = None, who: str = "bank_a", **kw: Any
) -> dict[str, Any]:
    exact, similar = [fp(f) for f in fps], [fp(s) for s in sims or []]
    receipt = net.fp_receipt(who, max(1, len(exact) + len(similar)))
    payload: dict[str, Any] = {
        "invoice": {"exact": exact, "similar": similar, "receipt": receipt},
        "amount": 250_000_00,
        "currency": "USD",
        "expires_on": "2025-02-05",
        "doc_hash": fp("docs"),
    }
    payload.update(kw)
    return payload


@pytest.fixture
def net() -> Net:
    return Net(MEMBERS, [CONTRACT])


def reg(net: Net, reg_id: str):
    return REGISTRATIONS.load(net.state, reg_id)


def register(
    net: Net, member: str, reg_id: str, fps: list[str], sims: list[str] | None = None
) -> None:
    net.step(REGISTRATIONS, member, "register", reg_id, reg_payload(net, fps, sims, who=member))


def test_lifecycle_register_disburse_settle_archive(net: Net) -> None:
    register(net, "bank_a", "A1", ["inv-1", "bl-1"], ["sim-1"])
    assert reg(net, "A1").state == REGISTERED
    assert EXACT.holder(net.state, fp("inv-1")) == "A1"
    net.step(
        REGISTRATIONS,
        "bank_a",
        "confirm_disbursement",
        "A1",
        {"disbursed_on": "2025-01-06", "bank_ref": "D1"},
    )
    assert reg(net, "A1").state == FINANCED
    net.at("2025-03-01")
    net.step(
        REGISTRATIONS,
        "bank_a",
        "confirm_settlement",
        "A1",
        {"settled_on": "2025-03-01", "bank_ref": "S1"},
    )
    assert reg(net, "A1").state == SETTLED
    assert EXACT.holder(net.state, fp("inv-1")) is None
    assert SIMILAR.matches(net.state, [fp("sim-1")], "X") == ()
    net.step(REGISTRATIONS, "bank_a", "archive", "A1")
    assert reg(net, "A1").state == ARCHIVED
    transitions = [e.transition for e in REGISTRATIONS.events(net.state, "A1")]
    assert transitions == ["register", "confirm_disbursement", "confirm_settlement", "archive"]


def test_first_wins_and_both_parties_are_flagged(net: Net) -> None:
    register(net, "bank_a", "A1", ["inv-1"])
    register(net, "bank_b", "B1", ["inv-2", "inv-1"])
    b1 = reg(net, "B1")
    assert b1.state == DUPLICATE_FLAGGED
    assert EXACT.holder(net.state, fp("inv-1")) == "A1"
    assert EXACT.holder(net.state, fp("inv-2")) is None  # a flagged registration holds nothing
    (alert,) = alerts_of(net.state, "B1")
    assert alert.state == OPEN
    assert alert.parties == {"first": "bank_a", "second": "bank_b"}
    assert alert.attrs == {
        "new": "B1",
        "existing": "A1",
        "match": "exact",
        "existing_status": REGISTERED,
    }
    (event,) = REGISTRATIONS.events(net.state, "B1")
    assert event.review == ("first_registration",)
    # A flagged registration cannot be disbursed against.
    net.refused(
        "not allowed when",
        net.step,
        REGISTRATIONS,
        "bank_b",
        "confirm_disbursement",
        "B1",
        {"disbursed_on": "2025-01-06", "bank_ref": "D"},
    )


def test_partial_matches_alert_but_never_block(net: Net) -> None:
    register(net, "bank_a", "A1", ["inv-1"], ["seller-number"])
    register(net, "bank_b", "B1", ["inv-1-altered"], ["seller-number", "deal"])
    assert reg(net, "B1").state == REGISTERED
    (alert,) = alerts_of(net.state, "B1")
    assert (alert.attrs["match"], alert.parties["first"]) == ("similar", "bank_a")
    (event,) = REGISTRATIONS.events(net.state, "B1")
    assert event.review == ("no_similar_registration",)
    net.step(
        REGISTRATIONS,
        "bank_b",
        "confirm_disbursement",
        "B1",
        {"disbursed_on": "2025-01-06", "bank_ref": "D"},
    )
    assert reg(net, "B1").state == FINANCED
    # Both financiers clear it; one alone cannot.
    net.refused(
        "needs the signature of first 'bank_a'",
        net.step,
        ALERTS,
        "bank_b",
        "resolve_alert",
        alert.id,
        {"outcome": "clear"},
    )
    net.step(
        ALERTS, "bank_b", "resolve_alert", alert.id, {"outcome": "clear"}, cosigners=["bank_a"]
    )
    assert ALERTS.load(net.state, alert.id).state == CLEARED


def test_clearing_needs_the_first_registration_to_have_left(net: Net) -> None:
    register(net, "bank_a", "A1", ["inv-1"])
    register(net, "bank_b", "B1", ["inv-1"])
    (alert,) = alerts_of(net.state, "B1")
    net.refused(
        "still held by active registration 'A1'",
        net.step,
        ALERTS,
        "bank_a",
        "resolve_alert",
        alert.id,
        {"outcome": "clear"},
        cosigners=["bank_b"],
    )
    net.step(
        REGISTRATIONS,
        "bank_a",
        "confirm_disbursement",
        "A1",
        {"disbursed_on": "2025-01-06", "bank_ref": "D"},
    )
    net.step(
        REGISTRATIONS,
        "bank_a",
        "confirm_settlement",
        "A1",
        {"settled_on": "2025-01-06", "bank_ref": "S"},
    )
    # Re-financing after settlement: both agree, and B1 becomes the active holder.
    net.step(
        ALERTS, "bank_a", "resolve_alert", alert.id, {"outcome": "clear"}, cosigners=["bank_b"]
    )
    assert reg(net, "B1").state == REGISTERED
    assert EXACT.holder(net.state, fp("inv-1")) == "B1"
    assert [e.transition for e in REGISTRATIONS.events(net.state, "B1")] == [
        "register",
        "resolve_alert",
    ]


def test_resolution_with_an_arbiter_and_withdrawal(net: Net) -> None:
    register(net, "bank_a", "A1", ["inv-1"])
    register(net, "bank_b", "B1", ["inv-1", "inv-9"], ["deal"])
    register(net, "bank_c", "C1", ["inv-9"], ["deal"])  # flagged? no: B1 holds nothing
    assert reg(net, "C1").state == REGISTERED
    (alert,) = alerts_of(net.state, "B1")
    arb = {"outcome": "withdraw", "arbiter": "registry"}
    net.refused(
        "needs the signature of arbiter 'registry'",
        net.step,
        ALERTS,
        "bank_a",
        "resolve_alert",
        alert.id,
        arb,
        cosigners=["bank_b"],
    )
    net.refused(
        "must be an observer",
        net.step,
        ALERTS,
        "bank_a",
        "resolve_alert",
        alert.id,
        {"outcome": "withdraw", "arbiter": "bank_c"},
        cosigners=["bank_b", "bank_c"],
    )
    net.step(ALERTS, "bank_a", "resolve_alert", alert.id, arb, cosigners=["bank_b", "registry"])
    assert ALERTS.load(net.state, alert.id).state == WITHDRAWN
    assert reg(net, "B1").state == WITHDRAWN
    assert ALERTS.events(net.state, alert.id)[-1].signers == ("bank_a", "bank_b", "registry")


def test_withdraw_and_lapse_release_and_close_alerts(net: Net) -> None:
    register(net, "bank_a", "A1", ["inv-1"])
    register(net, "bank_b", "B1", ["inv-1"])
    net.refused("only the financier", net.step, REGISTRATIONS, "bank_a", "withdraw", "B1")
    net.step(REGISTRATIONS, "bank_b", "withdraw", "B1")
    (alert,) = alerts_of(net.state, "B1")
    assert (alert.state, alert.attrs["outcome"]) == (WITHDRAWN, "moot")
    net.refused("has not expired", net.step, REGISTRATIONS, "bank_c", "lapse", "A1")
    net.at("2025-02-06")
    net.refused(
        "expired",
        net.step,
        REGISTRATIONS,
        "bank_a",
        "confirm_disbursement",
        "A1",
        {"disbursed_on": "2025-02-06", "bank_ref": "D"},
    )
    net.step(REGISTRATIONS, "registry", "lapse", "A1")
    assert reg(net, "A1").state == LAPSED
    assert EXACT.holder(net.state, fp("inv-1")) is None
    net.step(
        REGISTRATIONS,
        "bank_c",
        "register",
        "C1",
        reg_payload(net, ["inv-1"], who="bank_c", expires_on="2025-03-01"),
    )
    assert reg(net, "C1").state == REGISTERED


def test_refused_registrations_change_nothing(net: Net) -> None:
    s = net.step
    net.refused(
        "in the past",
        s,
        REGISTRATIONS,
        "bank_a",
        "register",
        "A1",
        reg_payload(net, ["i"], expires_on="2025-01-05"),
    )
    net.refused(
        "at most a year",
        s,
        REGISTRATIONS,
        "bank_a",
        "register",
        "A1",
        reg_payload(net, ["i"], expires_on="2026-01-07"),
    )
    net.refused(
        "must match",
        s,
        REGISTRATIONS,
        "bank_a",
        "register",
        "A1",
        reg_payload(net, ["i"], currency="usd"),
    )
    net.refused(
        "must not repeat",
        s,
        REGISTRATIONS,
        "bank_a",
        "register",
        "A1",
        reg_payload(net, ["i", "i"]),
    )
    net.refused("hold 1 to 16", s, REGISTRATIONS, "bank_a", "register", "A1", reg_payload(net, []))
    net.refused(
        "role observer", s, REGISTRATIONS, "registry", "register", "A1", reg_payload(net, ["i"])
    )
    net.refused(
        "must match", s, REGISTRATIONS, "bank_a", "register", "A~1", reg_payload(net, ["i"])
    )
    register(net, "bank_a", "A1", ["i"])
    net.refused(
        "already exists",
        s,
        REGISTRATIONS,
        "bank_b",
        "register",
        "A1",
        reg_payload(net, ["j"]),
        version=0,
    )
    net.refused(
        "between registration and today",
        s,
        REGISTRATIONS,
        "bank_a",
        "confirm_disbursement",
        "A1",
        {"disbursed_on": "2025-01-05", "bank_ref": "D"},
    )
    net.refused(
        "between registration and today",
        s,
        REGISTRATIONS,
        "bank_a",
        "confirm_disbursement",
        "A1",
        {"disbursed_on": "2025-01-07", "bank_ref": "D"},
    )
    net.refused(
        "only the financier",
        s,
        REGISTRATIONS,
        "bank_b",
        "confirm_disbursement",
        "A1",
        {"disbursed_on": "2025-01-06", "bank_ref": "D"},
    )
    net.refused(
        "not allowed when",
        s,
        REGISTRATIONS,
        "bank_a",
        "confirm_settlement",
        "A1",
        {"settled_on": "2025-01-06", "bank_ref": "S"},
    )
