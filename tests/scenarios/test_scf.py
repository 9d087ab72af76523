"""Supply-chain finance: the certificate lifecycle, its refusals and its arithmetic."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import ContractError, TxContext
from scenarios import engine_for
from scenarios.scf import (
    ACTIVE,
    CANCELLED,
    CERTIFICATES,
    CONTRACT,
    DRAFT,
    DUE,
    FINANCED,
    FINANCING_PENDING,
    INVOICES,
    OVERDUE,
    REDEEMED,
    SPLIT,
    SUPPLY,
    discount,
    price,
)
from tests.scenarios._net import Net

MEMBERS = {
    "core": "member",
    "supplier": "member",
    "sub": "member",
    "bank": "member",
    "paybank": "member",
    "regulator": "observer",
}


def fp(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


FACE = 1_000_000_00


def issue_payload(
    net: Net, holder: str = "supplier", face: int = FACE, **kw: Any
) -> dict[str, Any]:
    fps = kw.pop("invoice_fps", [fp("INV-1")])
    payload: dict[str, Any] = {
        "holder": holder,
        "face": face,
        "maturity": "2025-07-06",
        "invoice": net.fingerprints("core", fps),
        "doc_hash": fp("docs"),
    }
    payload.update(kw)
    return payload


@pytest.fixture
def net() -> Net:
    return Net(MEMBERS, [CONTRACT])


def issued(net: Net, cert: str = "C1", **kw: Any) -> None:
    net.step(CERTIFICATES, "core", "issue", cert, issue_payload(net, **kw))
    net.step(CERTIFICATES, "supplier", "accept", cert)


def cert(net: Net, cert_id: str):
    return CERTIFICATES.load(net.state, cert_id)


def test_full_lifecycle_conserves_and_logs_every_step(net: Net) -> None:
    net.step(
        CERTIFICATES,
        "core",
        "issue",
        "C1",
        issue_payload(
            net,
        ),
    )
    assert cert(net, "C1").state == DRAFT
    net.step(CERTIFICATES, "supplier", "accept", "C1")
    c1 = cert(net, "C1")
    assert (c1.state, c1.version, c1.parties) == (
        ACTIVE,
        2,
        {"issuer": "core", "holder": "supplier"},
    )

    net.step(CERTIFICATES, "supplier", "transfer", "C1", {"to": "sub", "amount": 300_000_00})
    assert cert(net, "C1").state == SPLIT
    to_sub, kept = cert(net, "C1.1"), cert(net, "C1.2")
    assert (to_sub.parties["holder"], to_sub.attrs["face"]) == ("sub", 300_000_00)
    assert (kept.parties["holder"], kept.attrs["face"]) == ("supplier", 700_000_00)
    assert to_sub.parties["issuer"] == "core" and to_sub.attrs["root"] == "C1"
    assert to_sub.attrs["parent"] == "C1" and "invoice_fps" not in to_sub.attrs

    net.step(CERTIFICATES, "sub", "split", "C1.1", {"amounts": [100_000_00, 200_000_00]})
    net.step(
        CERTIFICATES,
        "sub",
        "apply_financing",
        "C1.3",
        {"financier": "bank", "rate_ppm": 43_500, "fee": 50_00},
    )
    assert cert(net, "C1.3").state == FINANCING_PENDING
    net.at("2025-03-08")  # 120 days before maturity
    net.step(CERTIFICATES, "bank", "approve_financing", "C1.3", {"bank_ref": "PAY-778"})
    financed = cert(net, "C1.3")
    assert financed.state == FINANCED and financed.parties["holder"] == "bank"
    # 100,000.00 × 4.35% × 120/360 = 1,450.00; minus the 50.00 fee.
    assert financed.attrs["financing"]["days"] == 120
    assert financed.attrs["financing"]["proceeds"] == 100_000_00 - 1_450_00 - 50_00
    assert financed.attrs["financing"]["seller"] == "sub"
    assert financed.attrs["financing"]["recourse"] is False

    net.at("2025-07-06")
    redeem = {"paying_bank": "paybank", "amount": 100_000_00, "bank_ref": "R-1"}
    net.step(CERTIFICATES, "core", "redeem", "C1.3", redeem, cosigners=["paybank"])
    done = cert(net, "C1.3")
    assert done.state == REDEEMED and done.attrs["redemption"]["paid_to"] == "bank"
    supply = SUPPLY.audit(net.state, "C1")
    assert (supply["issued"], supply["redeemed"], supply["live"]) == (
        1_000_000_00,
        100_000_00,
        900_000_00,
    )

    events = CERTIFICATES.events(net.state, "C1.3")
    assert [e.transition for e in events] == [
        "split",
        "apply_financing",
        "approve_financing",
        "redeem",
    ]
    assert [(e.version_before, e.version_after) for e in events] == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert events[-1].signers == ("core", "paybank")


def test_issue_rules(net: Net) -> None:
    step = net.step
    net.refused(
        "at most one year",
        step,
        CERTIFICATES,
        "core",
        "issue",
        "C1",
        issue_payload(net, maturity="2026-01-07"),
    )
    net.refused(
        "after the issue day",
        step,
        CERTIFICATES,
        "core",
        "issue",
        "C1",
        issue_payload(net, maturity="2025-01-06"),
    )
    net.refused(
        "not the issuer",
        step,
        CERTIFICATES,
        "core",
        "issue",
        "C1",
        issue_payload(net, holder="core"),
    )
    net.refused(
        "not an active member",
        step,
        CERTIFICATES,
        "core",
        "issue",
        "C1",
        issue_payload(net, holder="nobody"),
    )
    net.refused(
        "must match",
        step,
        CERTIFICATES,
        "core",
        "issue",
        "C1.1",
        issue_payload(
            net,
        ),
    )
    net.refused(
        "exactly 32 bytes",
        step,
        CERTIFICATES,
        "core",
        "issue",
        "C1",
        issue_payload(net, invoice_fps=[b"short"]),
    )
    net.refused(
        "unknown payload fields", step, CERTIFICATES, "core", "issue", "C1", issue_payload(net, x=1)
    )
    net.refused(
        "role observer",
        step,
        CERTIFICATES,
        "regulator",
        "issue",
        "C1",
        issue_payload(
            net,
        ),
    )
    # A full year is allowed; over six months is flagged for review, not refused.
    step(CERTIFICATES, "core", "issue", "C1", issue_payload(net, maturity="2026-01-06"))
    (event,) = CERTIFICATES.events(net.state, "C1")
    assert event.review == ("term_at_most_six_months",)


def test_same_invoice_cannot_back_two_roots(net: Net) -> None:
    net.step(
        CERTIFICATES,
        "core",
        "issue",
        "C1",
        issue_payload(
            net,
        ),
    )
    err = net.refused(
        "already backs certificate 'C1'",
        net.step,
        CERTIFICATES,
        "core",
        "issue",
        "C2",
        issue_payload(net, invoice_fps=[fp("INV-2"), fp("INV-1")]),
    )
    assert "first wins" in err.reason
    net.refused(
        "already exists",
        net.step,
        CERTIFICATES,
        "core",
        "issue",
        "C1",
        issue_payload(
            net,
        ),
        version=0,
    )
    # Cancelling the draft releases the invoice, and voids the face.
    net.step(CERTIFICATES, "core", "cancel", "C1")
    assert cert(net, "C1").state == CANCELLED
    assert SUPPLY.audit(net.state, "C1")["voided"] == 1_000_000_00
    net.step(
        CERTIFICATES,
        "core",
        "issue",
        "C2",
        issue_payload(
            net,
        ),
    )
    assert INVOICES.holder(net.state, fp("INV-1")) == "C2"
    net.step(CERTIFICATES, "supplier", "accept", "C2")
    net.refused("not allowed when", net.step, CERTIFICATES, "core", "cancel", "C2")


def test_refused_steps_change_nothing(net: Net) -> None:
    issued(net)
    s = net.step
    net.refused(
        "only the holder", s, CERTIFICATES, "core", "transfer", "C1", {"to": "sub", "amount": 1}
    )
    net.refused(
        "exceeds the face",
        s,
        CERTIFICATES,
        "supplier",
        "transfer",
        "C1",
        {"to": "sub", "amount": 10**11},
    )
    net.refused(
        "another member",
        s,
        CERTIFICATES,
        "supplier",
        "transfer",
        "C1",
        {"to": "supplier", "amount": 1},
    )
    net.refused(
        "between 1", s, CERTIFICATES, "supplier", "transfer", "C1", {"to": "sub", "amount": 0}
    )
    net.refused("sum to", s, CERTIFICATES, "supplier", "split", "C1", {"amounts": [1, 2]})
    net.refused(
        "stale step",
        s,
        CERTIFICATES,
        "supplier",
        "transfer",
        "C1",
        {"to": "sub", "amount": 1},
        version=1,
    )
    net.refused(
        "own certificate",
        s,
        CERTIFICATES,
        "supplier",
        "apply_financing",
        "C1",
        {"financier": "supplier", "rate_ppm": 1, "fee": 0},
    )

    # Locked while financing is pending: no transfer, no split, no second application.
    s(
        CERTIFICATES,
        "supplier",
        "apply_financing",
        "C1",
        {"financier": "bank", "rate_ppm": 40_000, "fee": 0},
    )
    net.refused(
        "not allowed when",
        s,
        CERTIFICATES,
        "supplier",
        "transfer",
        "C1",
        {"to": "sub", "amount": 1},
    )
    net.refused(
        "not allowed when", s, CERTIFICATES, "supplier", "split", "C1", {"amounts": [1, 10**11 - 1]}
    )
    net.refused(
        "not allowed when",
        s,
        CERTIFICATES,
        "supplier",
        "apply_financing",
        "C1",
        {"financier": "paybank", "rate_ppm": 1, "fee": 0},
    )
    net.refused(
        "only the financier",
        s,
        CERTIFICATES,
        "supplier",
        "approve_financing",
        "C1",
        {"bank_ref": "X"},
    )
    net.refused(
        "only the financier",
        s,
        CERTIFICATES,
        "paybank",
        "approve_financing",
        "C1",
        {"bank_ref": "X"},
    )

    # Financed once: no second financing, no transfer of the financed certificate.
    s(CERTIFICATES, "bank", "approve_financing", "C1", {"bank_ref": "P1"})
    net.refused(
        "not allowed when",
        s,
        CERTIFICATES,
        "bank",
        "apply_financing",
        "C1",
        {"financier": "paybank", "rate_ppm": 1, "fee": 0},
    )
    net.refused(
        "not allowed when", s, CERTIFICATES, "bank", "transfer", "C1", {"to": "sub", "amount": 1}
    )


def test_reject_unlocks_and_past_maturity_is_refused(net: Net) -> None:
    issued(net)
    s = net.step
    s(
        CERTIFICATES,
        "supplier",
        "apply_financing",
        "C1",
        {"financier": "bank", "rate_ppm": 40_000, "fee": 0},
    )
    s(CERTIFICATES, "bank", "reject_financing", "C1")
    c1 = cert(net, "C1")
    assert c1.state == ACTIVE and "financier" not in c1.parties and "terms" not in c1.attrs
    s(
        CERTIFICATES,
        "supplier",
        "apply_financing",
        "C1",
        {"financier": "bank", "rate_ppm": 40_000, "fee": 0},
    )

    net.at("2025-07-06")  # maturity day
    net.refused(
        "at or past maturity", s, CERTIFICATES, "bank", "approve_financing", "C1", {"bank_ref": "P"}
    )
    net.refused(
        "not allowed when",
        s,
        CERTIFICATES,
        "supplier",
        "transfer",
        "C1",
        {"to": "sub", "amount": 1},
    )
    net.refused("day after maturity", s, CERTIFICATES, "sub", "mark_overdue", "C1")
    s(CERTIFICATES, "sub", "mark_due", "C1")
    c1 = cert(net, "C1")
    assert c1.state == DUE and "financier" not in c1.parties
    net.refused(
        "only the issuer",
        s,
        CERTIFICATES,
        "supplier",
        "redeem",
        "C1",
        {"paying_bank": "paybank", "amount": FACE, "bank_ref": "R"},
        cosigners=["paybank"],
    )
    net.at("2025-07-07")
    s(CERTIFICATES, "regulator", "mark_overdue", "C1")
    assert cert(net, "C1").state == OVERDUE


def test_redeem_needs_the_paying_bank_and_the_face(net: Net) -> None:
    issued(net)
    s = net.step
    pay = {"paying_bank": "paybank", "amount": FACE, "bank_ref": "R1"}
    net.refused(
        "not reached maturity", s, CERTIFICATES, "core", "redeem", "C1", pay, cosigners=["paybank"]
    )
    net.at("2025-07-06")
    net.refused(
        "needs the signature of paying_bank 'paybank'", s, CERTIFICATES, "core", "redeem", "C1", pay
    )
    net.refused("not a party", s, CERTIFICATES, "core", "redeem", "C1", pay, cosigners=["bank"])
    net.refused(
        "exactly the face",
        s,
        CERTIFICATES,
        "core",
        "redeem",
        "C1",
        {**pay, "amount": FACE - 1},
        cosigners=["paybank"],
    )
    # A co-signature over another payload or version (the transaction's digest) does
    # not verify: the co-signer approved exactly one transaction.
    kind = CERTIFICATES.kind("redeem")
    body = net.body(CERTIFICATES, kind, "C1", pay, ["paybank"])
    for forged in (dict(body, payload={**pay, "bank_ref": "R2"}), dict(body, version=1)):
        net.refused("bad signature by 'paybank'", net.submit, "core", kind, forged)
    net.refused("submitter signs", s, CERTIFICATES, "core", "redeem", "C1", pay, cosigners=["core"])
    # A co-signer's gateway previews the step: every rule holds, only its signature lacks.
    ctx = TxContext(b"", kind, "core", "member", 0, net.now, {}, net.height + 1, net.now)
    before = net.snapshot()
    engine = engine_for("scf")
    leg = engine.leg("redeem", "C1", 2, pay)
    preview = engine.run(net.state, ctx, [leg], {}, strict=False, single=True)
    assert (preview.required, preview.missing) == (("core", "paybank"), ("paybank",))
    assert preview.objects[0].state == REDEEMED and net.snapshot() == before
    with pytest.raises(ContractError, match="exactly the face"):
        leg = engine.leg("redeem", "C1", 2, {**pay, "amount": 1})
        engine.run(net.state, ctx, [leg], {}, strict=False, single=True)
    net.submit("core", kind, body)
    assert cert(net, "C1").state == REDEEMED
    # Nothing after redemption, and the co-signature cannot be replayed.
    net.refused("stale step", net.submit, "core", kind, body)
    for name, payload in [
        ("transfer", {"to": "sub", "amount": 1}),
        ("mark_overdue", {}),
        ("apply_financing", {"financier": "bank", "rate_ppm": 1, "fee": 0}),
    ]:
        net.refused("not allowed when", s, CERTIFICATES, "supplier", name, "C1", payload)


def test_removed_paying_bank_cannot_cosign(net: Net) -> None:
    issued(net)
    net.at("2025-07-06")
    net.add_member("paybank", "member", status="removed")
    pay = {"paying_bank": "paybank", "amount": FACE, "bank_ref": "R1"}
    net.refused(
        "not an active member",
        net.step,
        CERTIFICATES,
        "core",
        "redeem",
        "C1",
        pay,
        cosigners=["paybank"],
    )


def test_discount_examples() -> None:
    # 1,000,000.00 at 3.65 % for 180 days: 18,250.00 exactly.
    assert discount(1_000_000_00, 36_500, 180) == 18_250_00
    # Half a minor unit rounds up: 1 × 0.5 × 360/360 = 0.5 → 1; 0.4999 → 0.
    assert discount(1, 500_000, 360) == 1
    assert discount(1, 499_999, 360) == 0
    p = price(100_000_00, 43_500, 120, 50_00)
    assert (p.discount, p.proceeds) == (1_450_00, 100_000_00 - 1_500_00)


@given(
    st.integers(1, 10**15),
    st.integers(0, 10**6),
    st.integers(0, 366),
    st.integers(0, 10**6),
)
def test_discount_is_exact_half_up(face: int, rate: int, days: int, fee: int) -> None:
    from fractions import Fraction

    exact = Fraction(face * rate * days, 10**6 * 360)
    cut = discount(face, rate, days)
    assert exact - Fraction(1, 2) < cut <= exact + Fraction(1, 2)
    assert cut - exact != Fraction(-1, 2)  # ties go up
    assert price(face, rate, days, fee).proceeds == face - cut - fee
