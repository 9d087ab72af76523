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
number. An insured loss (:class:`Loss`, the claim registry of insurance) yields an
exact input from the object (a VIN, a normalised address, an insured person's id), the
loss day and the loss type, and similar ones for the same object within seven days.
Invalid fields raise :class:`ScenarioError` naming the field.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from ledger import encode
from scenarios._errors import ScenarioError
from scenarios.kit._fingerprints import fingerprint_input

__all__ = [
    "DOCUMENT_NORMALISER_VERSION",
    "LOSS",
    "SIMILAR_LOSS_DAYS",
    "Document",
    "DocumentKind",
    "FingerprintDocument",
    "FingerprintInputs",
    "Invoice",
    "Loss",
    "documents_digest",
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


# Insured losses -------------------------------------------------------------------------

_LOSS_OBJECTS = ("vin", "address", "person")
_VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
_LOSS_TYPE = re.compile(r"[a-z][a-z0-9_]{0,31}")
# A similar loss is the same object within this many days either side.
SIMILAR_LOSS_DAYS = 7


def _loss_object(kind: str, text: str) -> str:
    folded = _fold(text)
    if kind == "vin":
        vin = _DROP.sub("", folded)
        if _VIN.fullmatch(vin) is None:
            raise ScenarioError("a VIN is 17 letters and digits (no I, O or Q)")
        return vin
    if kind == "address":
        # Address hygiene in the ISO ClaimSearch sense, kept deliberately simple: the
        # same words in the same order, whatever the punctuation, case and spacing.
        words = re.sub(r"[^0-9A-Z]+", " ", folded).split()
        if not words or len(" ".join(words)) > 200:
            raise ScenarioError("an address is 1-200 letters and digits after normalising")
        return " ".join(words)
    if kind == "person":
        return _token("person id", text)
    raise ScenarioError(f"a loss object is one of {', '.join(_LOSS_OBJECTS)}")


@dataclass(frozen=True, slots=True)
class Loss:
    """An insured loss as a claim registry fingerprints it (SCENARIOS.md §2a).

    ``object_kind`` says what was damaged or who was hurt (``vin``, ``address``,
    ``person``), ``object_id`` identifies it, ``loss_date`` is the day of the loss and
    ``loss_type`` the coverage it is claimed under (``collision``, ``theft``...).

    The exact fingerprint input is the object, the loss day (the date bucket) and the
    loss type: two insurers holding the same loss compute the same one. The similar
    inputs are the object on every day within :data:`SIMILAR_LOSS_DAYS` either side, the
    loss day first: a registration *keeps* only that first one and *looks up* all of
    them, so two losses of one object within seven days of each other match, whichever
    is registered first, and losses further apart never do.
    """

    object_kind: str
    object_id: str
    loss_date: str
    loss_type: str

    def normalised(self) -> Loss:
        kind = _fold(self.object_kind).lower()
        loss_type = _fold(self.loss_type).lower()
        if _LOSS_TYPE.fullmatch(loss_type) is None:
            raise ScenarioError("loss type must be a lower-case name")
        return Loss(
            kind, _loss_object(kind, self.object_id), _day("loss_date", self.loss_date), loss_type
        )

    def fingerprint_inputs(self) -> FingerprintInputs:
        n = self.normalised()
        v = DOCUMENT_NORMALISER_VERSION
        day = date.fromisoformat(n.loss_date)
        offsets = [0, *range(-SIMILAR_LOSS_DAYS, 0), *range(1, SIMILAR_LOSS_DAYS + 1)]
        return FingerprintInputs(
            exact=(
                fingerprint_input(
                    "loss.exact", [n.object_kind, n.object_id, n.loss_date, n.loss_type], v
                ),
            ),
            similar=tuple(
                fingerprint_input(
                    "loss.object_day",
                    [n.object_kind, n.object_id, (day + timedelta(days=k)).isoformat()],
                    v,
                )
                for k in offsets
            ),
        )

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Loss:
        """A loss from typed fields (the command line's options); missing ones named."""
        missing = [k for k in _LOSS_FIELDS if not fields.get(k)]
        if missing:
            raise ScenarioError(f"the loss needs {', '.join(missing)}")
        return cls(*(str(fields[k]) for k in _LOSS_FIELDS)).normalised()


_LOSS_FIELDS = ("object_kind", "object_id", "loss_date", "loss_type")


class FingerprintDocument(Protocol):
    """A document a registry fingerprints: an invoice, a loss."""

    def fingerprint_inputs(self) -> FingerprintInputs: ...


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """How a fingerprinted field other than an invoice is typed: its fields (key → help)
    and how they make the document. The command line gives each field an option; the
    member's gateway has the registry evaluate the document's inputs."""

    name: str
    fields: Mapping[str, str]
    build: Callable[[Mapping[str, str]], FingerprintDocument]


LOSS = DocumentKind(
    "loss",
    {
        "object_kind": "What was lost or damaged: vin, address or person.",
        "object_id": "The VIN, the address or the insured person's id (never sent in clear).",
        "loss_date": "The day of the loss, YYYY-MM-DD.",
        "loss_type": "The coverage claimed under (collision, theft, fire...).",
    },
    Loss.from_fields,
)


def documents_digest(digests: Sequence[bytes]) -> bytes:
    """The one hash a step records for documents kept behind a gateway (a ``Documents``
    field), from each document's SHA-256, in order: what a contract compares when it
    checks that a registration covers exactly the documents presented."""
    return hashlib.sha256(encode("scenario-documents", 1, list(digests))).digest()
