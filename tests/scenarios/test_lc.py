"""Letters of credit (SCENARIOS.md §6) at the contract: the lifecycle, amendments, the
document-matching rule, discrepancies, drawings, the registry and the eB/L; each
refusal named and changing nothing (``tests/scenarios/_lc.py``)."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import pytest

from scenarios.kit import Document, Invoice, documents_digest
from scenarios.lc import BILLS, TERMS, cap, discrepancies
from scenarios.tf import REGISTRATIONS
from tests.scenarios._lc import Trade

PARTIES = {"beneficiary": "dreyfus", "issuing": "ing", "advising": "socgen"}
ALL = ("dreyfus", "ing", "socgen", "abn")
DOCS = ("invoice", "bill_of_lading", "certificate_of_origin", "phytosanitary", "inspection")


def terms(**changes: Any) -> dict[str, Any]:
    return {
        "amount": 30_000_000_00,
        "currency": "USD",
        "tolerance": 50_000,
        "goods": "US soybeans",
        "quantity": 60_000,
        "quantity_tolerance": 50_000,
        "port_loading": "New Orleans",
        "port_discharge": "Qingdao",
        "latest_shipment": "2025-01-10",
        "expiry": "2025-03-31",
        "presentation_days": 21,
        "required": list(DOCS),
        "weekend": [5, 6],
        "holidays": ["2025-01-20"],
    } | changes


def docs(quantity: int = 61_000, amount: int = 30_500_000_00, shipped: str = "2025-01-06",
         **extra: Any) -> list[dict[str, Any]]:  # fmt: skip
    out = []
    for kind in DOCS:
        doc: dict[str, Any] = {"type": kind, "hash": hashlib.sha256(kind.encode()).digest()}
        if kind == "invoice":
            doc |= {"amount": amount, "seller": "dreyfus", "buyer": "bohi", "quantity": quantity}
        if kind == "bill_of_lading":
            doc |= {"quantity": quantity, "shipped_on": shipped, "bl_no": "BL-1",
                    "port_loading": "New Orleans", "port_discharge": "Qingdao"}  # fmt: skip
        out.append(doc | extra.get(kind, {}))
    return out


def operative(t: Trade, confirming: bool = True, **changes: Any) -> None:
    parties = PARTIES | ({"confirming": "abn"} if confirming else {})
    t.private("bohi", "draft", "LC-1", parties | {"terms": terms(**changes)}, ALL)
    t.private("dreyfus", "agree", "LC-1", {}, ("bohi", *ALL))
    t.private("ing", "issue", "LC-1")
    t.private("socgen", "advise", "LC-1")
    if confirming:
        t.refused("the confirming bank has not confirmed", "ing", "operate", "LC-1")
        t.private("abn", "confirm", "LC-1")
    t.private("ing", "operate", "LC-1")


def register(t: Trade, bank: str, reg: str, presented: list[dict[str, Any]]) -> None:
    invoice = Invoice("dreyfus", "bohi", "LDC-1", "2025-01-06", 30_500_000_00, "USD")
    exact = [*invoice.fingerprint_inputs().exact, *Document("bill_of_lading", "MEDU", "BL-1")
             .fingerprint_inputs().exact]  # fmt: skip
    value = t.net.fingerprints(bank, [hashlib.sha256(x).digest() for x in exact])
    payload = {
        "invoice": value,
        "amount": 30_500_000_00,
        "currency": "USD",
        "expires_on": "2025-02-01",
        "doc_hash": documents_digest([d["hash"] for d in presented]),
    }
    t.net.step(REGISTRATIONS, bank, "register", reg, payload)


@pytest.fixture
def trade() -> Trade:
    t = Trade()
    t.net.at("2025-01-08")
    return t


def test_the_lifecycle_is_co_drafted_issued_advised_confirmed_and_operative(trade: Trade) -> None:
    trade.refused("different members", "bohi", "draft", "LC-0",
                  PARTIES | {"advising": "dreyfus", "terms": terms()}, ALL)  # fmt: skip
    trade.refused("dates: the latest shipment date is after expiry", "bohi", "draft", "LC-0",
                  PARTIES | {"terms": terms(latest_shipment="2025-04-01")}, ALL)  # fmt: skip
    trade.private("bohi", "draft", "LC-1", PARTIES | {"confirming": "abn", "terms": terms()}, ALL)
    trade.refused("only the beneficiary", "ing", "agree", "LC-1")
    trade.refused("issue is not allowed when credit 'LC-1' is DRAFT", "ing", "issue", "LC-1")
    trade.private("dreyfus", "agree", "LC-1")
    trade.refused("only the issuing", "socgen", "issue", "LC-1")
    trade.private("ing", "issue", "LC-1")
    trade.private("socgen", "advise", "LC-1")
    trade.private("abn", "confirm", "LC-1")
    assert trade.private("ing", "operate", "LC-1").state == "OPERATIVE"
    assert trade.obj("LC-1").attrs["rules"] == {"version": 1, "params": terms()}


def test_an_amendment_binds_the_beneficiary_only_once_it_accepts(trade: Trade) -> None:
    operative(trade)
    trade.refused("only the issuing", "bohi", "propose_amendment", "LC-1",
                  {"changes": {"amount": 31_000_000_00}})  # fmt: skip
    trade.private("ing", "propose_amendment", "LC-1", {"changes": {"amount": 31_000_000_00}})
    trade.refused("already pending", "ing", "propose_amendment", "LC-1",
                  {"changes": {"expiry": "2025-04-30"}})  # fmt: skip
    assert trade.obj("LC-1").attrs["rules"]["params"]["amount"] == 30_000_000_00
    trade.refused("abn", "dreyfus", "accept_amendment", "LC-1", {}, ("bohi", "ing", "socgen"))
    accepted = trade.private("dreyfus", "accept_amendment", "LC-1", {}, ("bohi", *ALL))
    assert accepted.attrs["rules"] == {
        "version": 2,
        "params": terms(amount=31_000_000_00),
    }
    trade.private("ing", "propose_amendment", "LC-1", {"changes": {"expiry": "2025-02-01"}})
    refused = trade.private("dreyfus", "refuse_amendment", "LC-1")
    assert refused.attrs["rules"]["params"]["expiry"] == "2025-03-31"
    assert [a["outcome"] for a in refused.attrs["amendments"]] == ["accepted", "refused"]
    trade.refused("no amendment is pending", "dreyfus", "refuse_amendment", "LC-1")


def test_matching_finds_each_discrepancy_by_name() -> None:
    parties = {"applicant": "bohi", "beneficiary": "dreyfus"}
    day = date(2025, 1, 8)
    assert discrepancies(terms(), parties, docs(), day, 0) == []
    cases = [
        (docs()[1:], "missing_document: invoice"),
        (docs(bill_of_lading={"goods": "US corn"}), "goods: US corn"),
        (docs(bill_of_lading={"port_discharge": "Dalian"}), "port_discharge: Dalian"),
        (docs(invoice={"seller": "outsider"}), "parties: the invoice is not from"),
        (docs(quantity=63_001), "quantity: 63001 against 60000 ± 5 %"),
        (docs(shipped="2025-01-11"), "late_shipment: after 2025-01-10"),
        (docs(amount=31_500_000_01), "amount: invoice 3150000001 above"),
    ]
    for presented, reason in cases:
        found = discrepancies(terms(), parties, presented, day, 0)
        assert next(f for f in found if f.startswith(reason.split(":")[0])).startswith(reason)
    # 21 banking days after 6 January 2025, the 20th a holiday: 5 February is the last.
    late = discrepancies(terms(), parties, docs(), date(2025, 2, 6), 0)
    assert late == ["late_presentation: presented 2025-02-06, by 2025-02-05"]
    assert discrepancies(terms(), parties, docs(), date(2025, 2, 5), 0) == []
    assert discrepancies(terms(expiry="2025-02-01"), parties, docs(), date(2025, 2, 3), 0) == [
        "late_presentation: presented 2025-02-03, by 2025-02-01"
    ]
    # The invoice is at most the available amount times (1 + tolerance).
    assert cap(30_000_000_00, 50_000) == 31_500_000_00
    drawn = 29_000_000_00
    assert discrepancies(terms(), parties, docs(amount=1_050_000_00), day, drawn) == []
    assert discrepancies(terms(), parties, docs(amount=1_050_000_01), day, drawn)[0].startswith(
        "amount:"
    )
    TERMS.check(terms())


def _present(t: Trade, pid: str = "P-1", **kwargs: Any) -> list[dict[str, Any]]:
    presented = docs(**kwargs)
    t.private("dreyfus", "present", "LC-1", {"presentation": pid, "docs": presented})
    return presented


def test_a_discrepant_presentation_is_refused_waived_accepted_released_and_paid(
    trade: Trade,
) -> None:
    operative(trade)
    trade.net.step(BILLS, "carrier", "issue_bill", "BL-1", {"to": "dreyfus", "doc": bytes(32)})
    trade.net.refused("only the holder", trade.net.step, BILLS, "ing", "endorse_bill", "BL-1",
                      {"to": "ing"})  # fmt: skip
    trade.net.step(BILLS, "dreyfus", "endorse_bill", "BL-1", {"to": "ing"})
    presented = _present(trade, quantity=63_500, amount=31_500_000_00)
    trade.refused("made already", "dreyfus", "present", "LC-1",
                  {"presentation": "P-1", "docs": presented})  # fmt: skip
    pres = {"presentation": "P-1"}
    trade.refused("is PRESENTED, not COMPLIANT or WAIVED", "ing", "accept_presentation",
                  "LC-1", pres)  # fmt: skip
    register(trade, "ing", "ING-P1", presented)
    examined = trade.private("ing", "examine", "LC-1", pres | {"registration": "ING-P1"})
    entry = examined.attrs["presentations"]["P-1"]
    assert (entry["state"], entry["discrepancies"]) == (
        "DISCREPANT",
        ["quantity: 63500 against 60000 ± 5 %"],
    )
    trade.refused("is DISCREPANT, not COMPLIANT or WAIVED", "ing", "accept_presentation",
                  "LC-1", pres)  # fmt: skip
    trade.refused("only the applicant", "ing", "waive", "LC-1", pres)
    trade.refused("is DISCREPANT, not REFUSED", "bohi", "waive", "LC-1", pres)
    trade.private("ing", "notify_discrepancies", "LC-1", pres)
    trade.refused("is REFUSED, not RELEASED", "ing", "pay", "LC-1", pres)
    trade.private("bohi", "waive", "LC-1", pres)
    trade.private("ing", "accept_presentation", "LC-1", pres)
    trade.refused("not endorsed to the applicant", "ing", "release_docs", "LC-1", pres)
    trade.net.step(BILLS, "ing", "endorse_bill", "BL-1", {"to": "bohi"})
    trade.private("ing", "release_docs", "LC-1", pres)
    paid = trade.private("ing", "pay", "LC-1", pres)
    assert paid.state == "FULLY_DRAWN"
    assert paid.attrs["presentations"]["P-1"]["paid"] == 31_500_000_00
    trade.net.step(BILLS, "bohi", "surrender_bill", "BL-1")
    bill = BILLS.load(trade.net.state, "BL-1")
    assert (bill.state, bill.parties["holder"]) == ("SURRENDERED", "carrier")
    trade.net.refused("surrender_bill is not allowed", trade.net.step, BILLS, "carrier",
                      "surrender_bill", "BL-1")  # fmt: skip


def test_drawings_never_exceed_amount_plus_tolerance(trade: Trade) -> None:
    operative(trade, confirming=False, required=["invoice"])
    for n, amount in enumerate((20_000_000_00, 11_500_000_00)):
        pid = f"P-{n}"
        presented = [{"type": "invoice", "hash": bytes([n]) * 32, "amount": amount,
                      "seller": "dreyfus", "buyer": "bohi"}]  # fmt: skip
        trade.private("dreyfus", "present", "LC-1", {"presentation": pid, "docs": presented})
        if n == 0:
            register(trade, "ing", f"R-{n}", presented)
        pres = {"presentation": pid}
        trade.private("ing", "examine", "LC-1", pres | {"registration": f"R-{n}"})
        if n == 0:
            trade.private("ing", "accept_presentation", "LC-1", pres)
            trade.private("ing", "release_docs", "LC-1", pres)
            trade.private("ing", "pay", "LC-1", pres)
    second = trade.obj("LC-1").attrs["presentations"]["P-1"]
    # 31.5 m − 20 m is 11.5 m, but the invoice may be at most (30 m − 20 m) × 1.05.
    assert second["state"] == "DISCREPANT"
    assert any(d.startswith("amount:") for d in second["discrepancies"])
    assert any(d.startswith("registry:") for d in second["discrepancies"])  # not registered


def test_the_same_bill_of_lading_under_a_second_credit_is_flagged(trade: Trade) -> None:
    operative(trade)
    presented = _present(trade)
    register(trade, "ing", "ING-P1", presented)
    trade.private("ing", "examine", "LC-1", {"presentation": "P-1", "registration": "ING-P1"})
    assert trade.obj("LC-1").attrs["presentations"]["P-1"]["state"] == "COMPLIANT"
    second = {"beneficiary": "dreyfus", "issuing": "abn", "advising": "socgen"}
    trade.private(
        "bohi", "draft", "LC-2", second | {"terms": terms()}, ("dreyfus", "abn", "socgen")
    )
    trade.private("dreyfus", "agree", "LC-2")
    trade.private("abn", "issue", "LC-2")
    trade.private("socgen", "advise", "LC-2")
    trade.private("abn", "operate", "LC-2")
    trade.private("dreyfus", "present", "LC-2", {"presentation": "P-2", "docs": presented})
    register(trade, "abn", "ABN-P2", presented)
    assert REGISTRATIONS.load(trade.net.state, "ABN-P2").state == "DUPLICATE_FLAGGED"
    # Another bank's registration of the set, or one of other documents, is no cover.
    checked = trade.private("abn", "examine", "LC-2",
                            {"presentation": "P-2", "registration": "ING-P1"})  # fmt: skip
    assert checked.attrs["presentations"]["P-2"]["discrepancies"] == [
        "registry: 'ING-P1' is not the issuing bank's registration of these documents"
    ]


def test_an_ebl_has_exactly_one_holder(trade: Trade) -> None:
    trade.net.step(BILLS, "carrier", "issue_bill", "BL-9", {"to": "dreyfus", "doc": bytes(32)})
    trade.net.refused("another member", trade.net.step, BILLS, "dreyfus", "endorse_bill",
                      "BL-9", {"to": "dreyfus"})  # fmt: skip
    trade.net.refused("only the carrier", trade.net.step, BILLS, "dreyfus", "void_bill", "BL-9")
    trade.net.step(BILLS, "dreyfus", "endorse_bill", "BL-9", {"to": "ing"})
    trade.net.refused("void_bill is not allowed", trade.net.step, BILLS, "carrier",
                      "void_bill", "BL-9")  # fmt: skip
    assert BILLS.load(trade.net.state, "BL-9").parties == {"carrier": "carrier", "holder": "ing"}
