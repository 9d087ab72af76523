"""The letter-of-credit demo (``riskshare demo --scenario lc``): the ETC soybean deal.

Bohi buys 60,000 t of US soybeans from Dreyfus under a credit ING issues, SocGen
advises and ABN AMRO confirms. Dreyfus presents a full digital set whose quantity is
outside the credit's tolerance: ING registers the set on the financing registry,
examines it (the matching rule finds the quantity discrepancy), sends the notice; Bohi
waives; ING accepts, endorses the bill of lading to Bohi, releases the documents and
pays. Bohi surrenders the bill at discharge. Then a second credit, issued by ABN AMRO,
is presented the same bill of lading: the registry flags it and the examination
names it.

Every ``figures:`` line is recomputed by the test from the inputs below.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from scenarios.kit import Demo, DemoRun, Document, Invoice, documents_digest, format_minor
from scenarios.lc._match import cap

__all__ = ["AMOUNT", "DEMO", "INVOICED", "SHIPPED_T", "TOLERANCE"]

AMOUNT = 30_000_000_00  # USD 30 m for 60,000 t at USD 500
TOLERANCE = 50_000  # 5 % in parts per million
QUANTITY_T = 60_000
SHIPPED_T = 63_500  # 5.8 % over: outside the 5 % quantity tolerance
INVOICED = 31_500_000_00  # within amount × 1.05
BL_NO = "MEDU-2018-0117"
GOODS = "US soybeans, No. 2 yellow"
_DOC_TYPES = ("invoice", "bill_of_lading", "certificate_of_origin", "phytosanitary", "inspection")


def _terms(run: DemoRun) -> dict[str, Any]:
    today = run.today
    return {
        "amount": AMOUNT,
        "currency": "USD",
        "tolerance": TOLERANCE,
        "goods": GOODS,
        "quantity": QUANTITY_T,
        "quantity_tolerance": TOLERANCE,
        "port_loading": "New Orleans",
        "port_discharge": "Qingdao",
        "latest_shipment": (today + timedelta(days=5)).isoformat(),
        "expiry": (today + timedelta(days=60)).isoformat(),
        "presentation_days": 21,
        "required": list(_DOC_TYPES),
        "weekend": [5, 6],
        "holidays": [],
    }


def _open(run: DemoRun, lc: str, issuing: str, advising: str, confirming: str | None) -> None:
    parties: dict[str, Any] = {"beneficiary": "dreyfus", "issuing": issuing, "advising": advising}
    if confirming:
        parties["confirming"] = confirming
    run.step("bohi", f"draft {lc} with Dreyfus", "lc.draft", lc, parties | {"terms": _terms(run)})
    run.step("dreyfus", f"agree the draft of {lc}", "lc.agree", lc)
    run.step(issuing, f"issue {lc}", "lc.issue", lc)
    run.step(advising, f"advise {lc}", "lc.advise", lc)
    if confirming:
        run.step(issuing, f"make {lc} operative before confirmation", "lc.operate", lc,
                 refused=True)  # fmt: skip
        run.step(confirming, f"confirm {lc}", "lc.confirm", lc)
    run.step(issuing, f"make {lc} operative", "lc.operate", lc)


def _docs(run: DemoRun) -> list[dict[str, Any]]:
    shipped = run.today.isoformat()
    common = {"goods": GOODS, "port_loading": "New Orleans", "port_discharge": "Qingdao"}
    docs: list[dict[str, Any]] = []
    for kind in _DOC_TYPES:
        doc: dict[str, Any] = {"type": kind, "hash": hashlib.sha256(kind.encode()).digest()}
        if kind == "invoice":
            doc |= {"amount": INVOICED, "seller": "dreyfus", "buyer": "bohi", "goods": GOODS}
            doc["quantity"] = SHIPPED_T
        elif kind == "bill_of_lading":
            doc |= common | {"quantity": SHIPPED_T, "shipped_on": shipped, "bl_no": BL_NO}
        elif kind == "inspection":
            doc |= {"goods": GOODS, "quantity": SHIPPED_T}
        docs.append(doc)
    return docs


def _register(run: DemoRun, bank: str, reg: str, docs: list[dict[str, Any]]) -> None:
    invoice = Invoice("dreyfus", "bohi", "LDC-2018-001", run.today.isoformat(), INVOICED, "USD")
    bill = Document("bill_of_lading", "MEDU", BL_NO)
    inputs = invoice.fingerprint_inputs()
    exact = [*inputs.exact, *bill.fingerprint_inputs().exact]
    fps, receipt = run.fingerprint(bank, "invoice", [*exact, *inputs.similar])
    payload = {
        "invoice": {"exact": fps[: len(exact)], "similar": fps[len(exact) :], "receipt": receipt},
        "amount": INVOICED,
        "currency": "USD",
        "expires_on": (run.today + timedelta(days=30)).isoformat(),
        "doc_hash": documents_digest([d["hash"] for d in docs]),
    }
    run.step(bank, f"register the presented set as {reg}", "tf.register", reg, payload)


def _flow(run: DemoRun) -> None:
    _open(run, "LC-1", "ing", "socgen", "abn")
    run.step("carrier", f"issue the eB/L {BL_NO} to Dreyfus", "lc.issue_bill", BL_NO,
             {"to": "dreyfus", "doc": run.document_hash()})  # fmt: skip
    run.step("dreyfus", "endorse the eB/L to ING", "lc.endorse_bill", BL_NO, {"to": "ing"})
    docs = _docs(run)
    run.step("dreyfus", "present the documents under LC-1", "lc.present", "LC-1",
             {"presentation": "P-1", "docs": docs})  # fmt: skip
    _register(run, "ing", "ING-P1", docs)
    examined = run.step("ing", "examine P-1", "lc.examine", "LC-1",
                        {"presentation": "P-1", "registration": "ING-P1"})  # fmt: skip
    found = [] if examined is None else examined.attrs["presentations"]["P-1"]["discrepancies"]
    run.say(f"figures: P-1 discrepancies {'; '.join(found)}")
    pres = {"presentation": "P-1"}
    run.step("ing", "accept the discrepant P-1", "lc.accept_presentation", "LC-1", pres,
             refused=True)  # fmt: skip
    run.step("ing", "send the discrepancy notice", "lc.notify_discrepancies", "LC-1", pres)
    run.step("ing", "pay P-1 before acceptance", "lc.pay", "LC-1", pres, refused=True)
    run.step("bohi", "waive the discrepancy", "lc.waive", "LC-1", pres)
    run.step("ing", "accept P-1", "lc.accept_presentation", "LC-1", pres)
    run.step("ing", "release the documents before the eB/L is Bohi's", "lc.release_docs",
             "LC-1", pres, refused=True)  # fmt: skip
    run.step("ing", "endorse the eB/L to Bohi", "lc.endorse_bill", BL_NO, {"to": "bohi"})
    run.step("ing", "release the documents", "lc.release_docs", "LC-1", pres)
    paid = run.step("ing", "pay P-1", "lc.pay", "LC-1", pres)
    if paid is not None:
        amount = paid.attrs["presentations"]["P-1"]["paid"]
        run.say(
            f"figures: LC-1 {paid.state}, paid {format_minor(amount)} of at most "
            f"{format_minor(cap(AMOUNT, TOLERANCE))}"
        )
    run.step("bohi", "surrender the eB/L at Qingdao", "lc.surrender_bill", BL_NO)
    _open(run, "LC-2", "abn", "socgen", None)
    run.step("dreyfus", "present the same set under LC-2", "lc.present", "LC-2",
             {"presentation": "P-2", "docs": docs})  # fmt: skip
    _register(run, "abn", "ABN-P2", docs)
    second = run.step("abn", "examine P-2", "lc.examine", "LC-2",
                      {"presentation": "P-2", "registration": "ABN-P2"})  # fmt: skip
    found = [] if second is None else second.attrs["presentations"]["P-2"]["discrepancies"]
    run.say(f"figures: P-2 discrepancies {'; '.join(found)}")


DEMO = Demo(
    members=("bohi", "dreyfus", "ing", "socgen", "abn", "carrier", "registry"),
    flow=_flow,
    registry="registry",
)
