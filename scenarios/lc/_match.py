"""Document matching for a letter of credit, as UCP 600 practice has it (arts. 14, 18, 30).

A pure function of the credit's agreed terms (its rule parameters), the documents
presented (each a type, a hash and the fields extracted from it), the day they were
presented and what was drawn before. It returns every discrepancy, each named, in a
fixed order, so every party's gateway reaches the same examination:

- ``missing_document``: every document the credit requires is presented;
- ``goods``, ``port_loading``, ``port_discharge``, ``parties``: every document that
  states one agrees with the credit (the invoice's seller is the beneficiary, its buyer
  the applicant);
- ``quantity``: every stated quantity is within the credit's quantity tolerance
  (art. 30(a), "about" ±10 % unless agreed otherwise);
- ``late_shipment``: the bill of lading's shipment date is on or before the latest
  shipment date;
- ``late_presentation``: presented within the presentation period after shipment
  (21 days unless agreed, art. 14(c)), counted in banking days on the credit's calendar,
  and on or before expiry;
- ``amount``: the invoice is at most what is available (the amount less drawings)
  times one plus the tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from scenarios.kit import BankingCalendar, parse_date

__all__ = ["DOCUMENT_TYPES", "cap", "discrepancies"]

DOCUMENT_TYPES = (
    "invoice",
    "bill_of_lading",
    "certificate_of_origin",
    "phytosanitary",
    "inspection",
)
_PPM = 1_000_000


def cap(amount: int, tolerance_ppm: int) -> int:
    """The most a credit may pay: amount × (1 + tolerance), rounded down."""
    return amount * (_PPM + tolerance_ppm) // _PPM


def _within(value: int, reference: int, tolerance_ppm: int) -> bool:
    return abs(value - reference) * _PPM <= reference * tolerance_ppm


def discrepancies(
    terms: Mapping[str, Any],
    parties: Mapping[str, str],
    docs: Sequence[Mapping[str, Any]],
    presented_on: date,
    drawn: int,
) -> list[str]:
    found: list[str] = []
    present = {d["type"] for d in docs}
    missing = [t for t in terms["required"] if t not in present]
    if missing:
        found.append(f"missing_document: {', '.join(missing)}")
    for field in ("goods", "port_loading", "port_discharge"):
        stated = sorted({d[field] for d in docs if field in d} - {terms[field]})
        if stated:
            found.append(f"{field}: {', '.join(stated)} against the credit's {terms[field]}")
    for d in docs:
        if d["type"] == "invoice" and (
            d.get("seller", parties["beneficiary"]) != parties["beneficiary"]
            or d.get("buyer", parties["applicant"]) != parties["applicant"]
        ):
            found.append("parties: the invoice is not from the beneficiary to the applicant")
    quantities = sorted({d["quantity"] for d in docs if "quantity" in d})
    off = [q for q in quantities if not _within(q, terms["quantity"], terms["quantity_tolerance"])]
    if off or len(quantities) > 1:
        found.append(
            f"quantity: {', '.join(map(str, quantities))} against {terms['quantity']} "
            f"± {terms['quantity_tolerance'] / 10_000:g} %"
        )
    shipped = [parse_date(d["shipped_on"]) for d in docs if d["type"] == "bill_of_lading"]
    if any(s > parse_date(terms["latest_shipment"]) for s in shipped):
        found.append(f"late_shipment: after {terms['latest_shipment']}")
    calendar = BankingCalendar.of(terms["weekend"], terms["holidays"])
    last = parse_date(terms["expiry"])
    if shipped:
        last = min(last, calendar.add(max(shipped), terms["presentation_days"]))
    if presented_on > last:
        found.append(f"late_presentation: presented {presented_on.isoformat()}, by {last}")
    invoiced = sum(d.get("amount", 0) for d in docs if d["type"] == "invoice")
    available = terms["amount"] - drawn
    if invoiced > cap(max(available, 0), terms["tolerance"]):
        found.append(f"amount: invoice {invoiced} above the available {available} + tolerance")
    return found
