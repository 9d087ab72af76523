"""The trade-finance demo: one invoice registered by two banks, an altered copy, the
alerts both banks see, and their resolution (``riskshare demo --scenario tf``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from scenarios.kit import Demo, DemoRun, Invoice, with_consent
from scenarios.tf._contract import ALERTS

__all__ = ["DEMO"]


def _register(run: DemoRun, bank: str, reg: str, invoice: Invoice, expires: str, say: str) -> None:
    inputs = invoice.fingerprint_inputs()
    fps, receipt = run.fingerprint(bank, "invoice", [*inputs.exact, *inputs.similar])
    normalised = invoice.normalised()
    evaluated = {
        "exact": fps[: len(inputs.exact)],
        "similar": fps[len(inputs.exact) :],
        "receipt": receipt,
    }
    payload = {
        "invoice": evaluated,
        "amount": normalised.amount,
        "currency": normalised.currency,
        "expires_on": expires,
        "doc_hash": run.document_hash(),
    }
    run.step(bank, say, "tf.register", reg, payload)


def _flow(run: DemoRun) -> None:
    today = run.today.isoformat()
    invoice = Invoice(
        "91440300EXPORT0003", "SG-IMPORTER-77", "EX 2025/118", today, 250_000_00, "USD"
    )
    expires = (run.today + timedelta(days=30)).isoformat()
    _register(run, "bank-a", "A-1", invoice, expires, "register invoice EX 2025/118 as A-1")
    retyped = replace(invoice, seller="91440300 export 0003", number="EX-2025-118")
    _register(
        run,
        "bank-b",
        "B-1",
        retyped,
        expires,
        "register the same invoice (typed differently) as B-1",
    )
    run.step(
        "bank-b",
        "disburse against the flagged B-1",
        "tf.confirm_disbursement",
        "B-1",
        {"disbursed_on": today, "bank_ref": "D-9"},
        refused=True,
    )
    altered = replace(invoice, amount=260_000_00)
    _register(
        run, "bank-b", "B-2", altered, expires, "register an altered copy (another amount) as B-2"
    )
    for alert in ALERTS.scan(run.state("bank-b")):
        if "bank-b" in alert.parties.values():
            run.say(
                f"alert {alert.id}: {alert.attrs['match']} match, {alert.parties['second']} is "
                f"told {alert.parties['first']} holds it ({alert.attrs['existing_status']}); "
                "both see member ids only"
            )
    run.step(
        "bank-a",
        "confirm disbursement of A-1",
        "tf.confirm_disbursement",
        "A-1",
        {"disbursed_on": today, "bank_ref": "D-1"},
    )
    with_consent(
        run,
        "bank-b",
        "bank-a",
        "tf.resolve_alert",
        "B-1~A-1",
        {"outcome": "withdraw"},
        early="resolve alert B-1~A-1 before bank-a authorised it",
        say="withdraw B-1 by resolving the alert with bank-a",
    )


DEMO = Demo(
    members=("core", "supplier", "bank-a", "bank-b", "registry"),
    flow=_flow,
    registry="registry",
)
