"""The supply-chain finance demo: a certificate issued, split off, financed, and the
steps the ledger must refuse on the way (``riskshare demo --scenario scf``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from scenarios.kit import Demo, DemoRun, Invoice, format_minor

__all__ = ["DEMO"]

_CERT = "CRRC-001"
_PART = f"{_CERT}.2"


def _flow(run: DemoRun) -> None:
    today = run.today
    invoice = Invoice(
        "91310000MA1FL00001",
        "91110000CORE00002",
        "INV-0042",
        today.isoformat(),
        1_000_000_00,
        "CNY",
    )
    maturity = (today + timedelta(days=120)).isoformat()

    def issue(cert: str, face: int, number: str, *, refused: bool = False) -> None:
        # The registry fingerprints the invoice as the core enterprise typed it.
        typed = replace(invoice, number=number)
        fps, receipt = run.fingerprint("core", "invoice", typed.fingerprint_inputs().exact)
        payload = {
            "holder": "supplier",
            "face": face,
            "maturity": maturity,
            "invoice": {"exact": fps, "similar": [], "receipt": receipt},
            "doc_hash": run.document_hash(),
        }
        say = (
            f"issue {cert} for {format_minor(face)} to supplier, maturity {maturity}"
            if not refused
            else f"issue {cert} on the same invoice"
        )
        run.step("core", say, "scf.issue", cert, payload, refused=refused)

    issue(_CERT, 1_000_000_00, "INV-0042")
    issue("CRRC-002", 1_000_00, "inv 0042", refused=True)
    run.step("supplier", f"accept {_CERT}", "scf.accept", _CERT)
    run.step(
        "supplier",
        "transfer 300,000.00 to bank-b",
        "scf.transfer",
        _CERT,
        {"to": "bank-b", "amount": 300_000_00},
    )
    run.step(
        "core",
        f"transfer {_PART} (not its holder)",
        "scf.transfer",
        _PART,
        {"to": "bank-b", "amount": 1},
        refused=True,
    )
    terms = {"financier": "bank-a", "rate_ppm": 43_500, "fee": 50_00}
    run.step(
        "supplier",
        f"apply for financing of {_PART} at 4.35% + 50.00",
        "scf.apply_financing",
        _PART,
        terms,
    )
    run.step(
        "supplier",
        f"transfer {_PART} while it is locked",
        "scf.transfer",
        _PART,
        {"to": "bank-b", "amount": 1},
        refused=True,
    )
    financed = run.step(
        "bank-a",
        f"approve financing of {_PART}",
        "scf.approve_financing",
        _PART,
        {"bank_ref": "PAY-7781"},
    )
    if financed is not None:
        f = financed.attrs["financing"]
        run.say(
            f"proceeds {format_minor(f['proceeds'])} = 700,000.00 − discount "
            f"{format_minor(f['discount'])} ({f['days']} days at 4.35%/360) − fee 50.00"
        )
    run.step(
        "bank-a",
        f"finance {_PART} a second time",
        "scf.apply_financing",
        _PART,
        {**terms, "financier": "bank-b"},
        refused=True,
    )
    redemption = {"paying_bank": "bank-b", "amount": 700_000_00, "bank_ref": "R-1"}
    run.authorize("bank-b", "scf.redeem", _PART, redemption)
    run.step(
        "core",
        f"redeem {_PART} before maturity (bank-b co-signs)",
        "scf.redeem",
        _PART,
        redemption,
        # Asked even though our own replica would refuse: the bank's replica refuses too.
        cosigners=("bank-b",),
        refused=True,
    )


DEMO = Demo(
    members=("core", "supplier", "bank-a", "bank-b", "registry"),
    flow=_flow,
    registry="registry",
)
