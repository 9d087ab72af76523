"""Trade documents, normalised, and the fingerprint inputs derived from them.

Duplicate detection only works if two banks holding the same invoice compute the same
fingerprint, so the fields are normalised first (normaliser v1):

- text is NFKC-folded (full-width digits and letters become ASCII), stripped and
  upper-cased; party ids and document numbers keep letters and digits only (spaces,
  hyphens, slashes and dots are dropped) and numbers lose leading zeros, so
  ``No. 00012-345`` and ``12345`` match;
- dates are ISO ``YYYY-MM-DD``; amounts are positive integers in minor units; currency
  is an ISO 4217 code.

An invoice yields one exact fingerprint input (seller, number, date, amount, currency)
and partial ones that catch an altered copy: the same seller and number with another
amount or date, and the same deal (seller, buyer, amount) under another number on the
same day or in the same month. Supply-chain finance and trade finance use the same
domains, so one invoice has one fingerprint in both registries. Any other document
(bill of lading, warehouse receipt) yields an exact input from its kind, issuer and
number. Invalid fields raise :class:`ScenarioError` naming the field.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from scenarios._errors import ScenarioError
from scenarios.kit._fingerprints import fingerprint_input

__all__ = [
    "DOCUMENT_NORMALISER_VERSION",
    "Document",
    "FingerprintInputs",
    "Invoice",
]

DOCUMENT_NORMALISER_VERSION = 1
_DROP = re.compile(r"[\s\-/.·_]")
_TOKEN = re.compile(r"[0-9A-Z]{1,64}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().upper()


def _token(name: str, text: str, *, number: bool = False) -> str:
    value = _DROP.sub("", _fold(text))
    if number:
        value = value.lstrip("0") or "0"
    if _TOKEN.fullmatch(value) is None:
        raise ScenarioError(f"{name} must be 1-64 letters and digits after normalising")
    return value


def _day(name: str, text: str) -> str:
    try:
        return date.fromisoformat(_fold(text)).isoformat()
    except ValueError:
        raise ScenarioError(f"{name} must be a date YYYY-MM-DD") from None


@dataclass(frozen=True, slots=True)
class FingerprintInputs:
    """OPRF inputs: ``exact`` ones are exclusive, ``similar`` ones raise review alerts."""

    exact: tuple[bytes, ...]
    similar: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Invoice:
    seller: str
    buyer: str
    number: str
    issued_on: str
    amount: int
    currency: str

    def normalised(self) -> Invoice:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise ScenarioError("amount must be a positive integer of minor units")
        currency = _fold(self.currency)
        if _CURRENCY.fullmatch(currency) is None:
            raise ScenarioError("currency must be an ISO 4217 code")
        return Invoice(
            seller=_token("seller", self.seller),
            buyer=_token("buyer", self.buyer),
            number=_token("number", self.number, number=True),
            issued_on=_day("issued_on", self.issued_on),
            amount=self.amount,
            currency=currency,
        )

    def fingerprint_inputs(self) -> FingerprintInputs:
        n = self.normalised()
        v = DOCUMENT_NORMALISER_VERSION
        amount = str(n.amount)
        return FingerprintInputs(
            exact=(
                fingerprint_input(
                    "invoice.exact", [n.seller, n.number, n.issued_on, amount, n.currency], v
                ),
            ),
            similar=(
                fingerprint_input("invoice.seller_number", [n.seller, n.number], v),
                fingerprint_input(
                    "invoice.deal_day", [n.seller, n.buyer, amount, n.currency, n.issued_on], v
                ),
                fingerprint_input(
                    "invoice.deal_month",
                    [n.seller, n.buyer, amount, n.currency, n.issued_on[:7]],
                    v,
                ),
            ),
        )


@dataclass(frozen=True, slots=True)
class Document:
    """Any other document with an issuer and a number unique to that issuer."""

    kind: str
    issuer: str
    number: str

    def fingerprint_inputs(self) -> FingerprintInputs:
        if _KIND.fullmatch(self.kind) is None:
            raise ScenarioError("document kind must be a lower-case name")
        issuer = _token("issuer", self.issuer)
        number = _token("number", self.number, number=True)
        return FingerprintInputs(
            exact=(
                fingerprint_input(
                    f"doc.{self.kind}", [issuer, number], DOCUMENT_NORMALISER_VERSION
                ),
            ),
            similar=(),
        )
