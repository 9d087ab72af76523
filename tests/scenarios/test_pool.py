"""One financing registry across scenarios: an invoice is financed once, SCF or TF.

Supply-chain finance keeps ``scf.invoice_fps`` and trade finance ``tf.fps`` (a contract
writes only its own tables), both in the FINANCING pool: each reads the other's when it
claims, so a fingerprint has one active holder across both.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

import scenarios
from scenarios import ScenarioError, all_scenarios, pooled_registries
from scenarios.kit import FINANCING, FingerprintRegistry
from scenarios.scf import CANCELLED, CERTIFICATES, INVOICES
from scenarios.scf import CONTRACT as SCF
from scenarios.tf import (
    ALERTS,
    CLEARED,
    DUPLICATE_FLAGGED,
    EXACT,
    REGISTERED,
    REGISTRATIONS,
    WITHDRAWN,
)
from scenarios.tf import CONTRACT as TF
from tests.scenarios._net import Net

MEMBERS = {"core": "member", "supplier": "member", "bank_a": "member", "bank_b": "member"}


def fp(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


@pytest.fixture
def net() -> Net:
    return Net(MEMBERS, [SCF, TF])


def issue(net: Net, cert: str, invoice: str) -> None:
    payload: dict[str, Any] = {
        "holder": "supplier",
        "face": 500_000_00,
        "maturity": "2025-04-06",
        "invoice": net.fingerprints("core", [fp(invoice)]),
        "doc_hash": fp("docs"),
    }
    net.step(CERTIFICATES, "core", "issue", cert, payload)


def register(net: Net, bank: str, reg: str, invoice: str) -> None:
    payload: dict[str, Any] = {
        "invoice": net.fingerprints(bank, [fp(invoice)]),
        "amount": 500_000_00,
        "currency": "CNY",
        "expires_on": "2025-02-05",
        "doc_hash": fp("docs"),
    }
    net.step(REGISTRATIONS, bank, "register", reg, payload)


def test_the_two_registries_are_one_pool() -> None:
    assert pooled_registries(FINANCING) == (INVOICES, EXACT)
    assert INVOICES.peers() == (EXACT,) and EXACT.peers() == (INVOICES,)


def test_an_invoice_behind_a_certificate_is_a_duplicate_in_trade_finance(net: Net) -> None:
    issue(net, "C1", "INV-7")
    net.step(CERTIFICATES, "supplier", "accept", "C1")
    register(net, "bank_a", "A1", "INV-7")
    assert REGISTRATIONS.load(net.state, "A1").state == DUPLICATE_FLAGGED
    assert EXACT.holder(net.state, fp("INV-7")) is None  # the certificate keeps it
    alert = ALERTS.load(net.state, "A1~scf:C1")
    assert alert.parties == {"first": "core", "second": "bank_a"}
    assert alert.attrs == {
        "new": "A1",
        "existing": "scf:C1",
        "match": "exact",
        "existing_status": "ACTIVE",
    }
    net.refused(
        "DUPLICATE_FLAGGED",
        net.step,
        REGISTRATIONS,
        "bank_a",
        "confirm_disbursement",
        "A1",
        {"disbursed_on": "2025-01-06", "bank_ref": "D"},
    )
    # Cleared only once nobody holds the invoice: the certificate still does.
    net.refused(
        "still held by active registration 'scf:C1'",
        net.step,
        ALERTS,
        "bank_a",
        "resolve_alert",
        "A1~scf:C1",
        {"outcome": "clear"},
        cosigners=["core"],
    )
    net.step(ALERTS, "bank_a", "resolve_alert", "A1~scf:C1", {"outcome": "withdraw"}, ["core"])
    assert REGISTRATIONS.load(net.state, "A1").state == WITHDRAWN
    assert INVOICES.holder(net.state, fp("INV-7")) == "C1"


def test_a_cancelled_draft_frees_the_invoice_for_trade_finance(net: Net) -> None:
    issue(net, "C2", "INV-8")
    register(net, "bank_b", "B1", "INV-8")
    assert ALERTS.load(net.state, "B1~scf:C2").attrs["existing_status"] == "DRAFT"
    net.step(CERTIFICATES, "core", "cancel", "C2")
    assert CERTIFICATES.load(net.state, "C2").state == CANCELLED
    net.step(ALERTS, "bank_b", "resolve_alert", "B1~scf:C2", {"outcome": "clear"}, ["core"])
    assert ALERTS.load(net.state, "B1~scf:C2").state == CLEARED
    assert REGISTRATIONS.load(net.state, "B1").state == REGISTERED
    assert EXACT.holder(net.state, fp("INV-8")) == "B1"


def test_an_invoice_registered_for_financing_cannot_back_a_certificate(net: Net) -> None:
    register(net, "bank_a", "A2", "INV-9")
    receipt = net.fp_receipt("core", 1)
    payload = {
        "holder": "supplier",
        "face": 500_000_00,
        "maturity": "2025-04-06",
        "invoice": {"exact": [fp("INV-9")], "similar": [], "receipt": receipt},
        "doc_hash": fp("docs"),
    }
    err = net.refused(
        "the invoice is already registered as 'tf:A2' by bank_a \\(REGISTERED\\) \\(first wins\\)",
        net.step,
        CERTIFICATES,
        "core",
        "issue",
        "C3",
        payload,
    )
    assert "C3" not in err.reason
    assert CERTIFICATES.get(net.state, "C3") is None
    assert INVOICES.holder(net.state, fp("INV-9")) is None
    assert list(ALERTS.scan(net.state)) == []


def test_a_pool_is_declared_by_registered_scenarios_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without trade finance registered, supply-chain finance reads no other table.
    monkeypatch.setattr(scenarios._registry, "SCENARIO_MODULES", ("scenarios.scf",))
    assert INVOICES.peers() == ()
    with pytest.raises(ScenarioError, match="needs describe"):
        FingerprintRegistry("x.fps", pool=FINANCING)
    monkeypatch.setattr(scenarios._registry, "SCENARIO_MODULES", ("scenarios.scf", "scenarios.tf"))
    assert [s.name for s in all_scenarios()] == ["scf", "tf"]
