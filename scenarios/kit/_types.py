"""The richer payload types: money, rates, members, documents and fingerprints.

These are what let the generated command line (``riskshare <scenario> <transition>``)
serve every scenario without a hand-written group:

- :class:`Money` — integer minor units on the ledger; typed in currency units
  (``1,000,000.00``), exactly, with the currency's decimals;
- :class:`Ppm` — a rate in parts per million; typed ``4.35%`` or ``0.0435``;
- :class:`Member` — a member id; the ledger indexes such fields as the members a
  transaction is about;
- :class:`Documents` — the hash of documents that stay behind the member's gateway;
  typed as the files (``--doc invoice.pdf --doc contract.pdf``), hashed on the member's
  side;
- :class:`Fingerprints` — OPRF fingerprints of a document family, with the id of the
  registry's recorded evaluation that produced them. Typed as the document's own
  fields (an invoice's seller, number, date, amount and currency): the member's
  gateway has the registry evaluate them, and only the fingerprints reach the step.
  The kit consumes the evaluation when the step applies, so every fingerprint on the
  ledger was an online, metered evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ledger import ContractError
from scenarios._errors import ScenarioError
from scenarios.kit._documents import DocumentKind
from scenarios.kit._fingerprints import FP_SIZE
from scenarios.kit._money import format_minor, parse_minor, parse_rate_ppm
from scenarios.kit._schema import ID_PATTERN, Bytes, ListOf, _Meta

__all__ = [
    "CURRENCY_DECIMALS",
    "Documents",
    "Fingerprints",
    "Member",
    "Money",
    "Ppm",
    "Screening",
    "decimals_of",
]

# ISO 4217 minor units of the currencies the scenarios name; any other has two.
CURRENCY_DECIMALS: Mapping[str, int] = MappingProxyType(
    {"CNY": 2, "USD": 2, "EUR": 2, "GBP": 2, "HKD": 2, "SGD": 2, "JPY": 0, "KRW": 0}
)
RECEIPT_ID = re.compile(r"[0-9a-f]{64}")
_MAX_MONEY = 10**15
_FP = Bytes(size=FP_SIZE, max_size=FP_SIZE)


def decimals_of(currency: str | None) -> int:
    return CURRENCY_DECIMALS.get(currency or "", 2)


def _bad(name: str, what: str) -> ContractError:
    return ContractError(f"{name} must be {what}")


@dataclass(frozen=True, slots=True)
class Money(_Meta):
    """An amount in minor units of ``currency`` (any currency when None)."""

    currency: str | None = None
    lo: int = 0
    hi: int = _MAX_MONEY

    def check(self, name: str, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _bad(name, "an integer amount of minor units")
        if not self.lo <= value <= self.hi:
            raise _bad(name, f"between {self.lo} and {self.hi} minor units")
        return value

    def parse(self, name: str, text: str) -> int:
        try:
            return parse_minor(text, decimals_of(self.currency))
        except ScenarioError as exc:
            raise ContractError(f"{name}: {exc}") from None

    def from_json(self, name: str, value: Any) -> Any:
        return self.parse(name, value) if isinstance(value, str) else value

    def example(self) -> str:
        return format_minor(100_000_00, decimals_of(self.currency))


@dataclass(frozen=True, slots=True)
class Ppm(_Meta):
    """A rate in parts per million (43 500 is 4.35 %)."""

    hi: int = 1_000_000

    def check(self, name: str, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= self.hi:
            raise _bad(name, f"a rate of 0 to {self.hi} parts per million")
        return value

    def parse(self, name: str, text: str) -> int:
        try:
            return parse_rate_ppm(text)
        except ScenarioError as exc:
            raise ContractError(f"{name}: {exc}") from None

    def from_json(self, name: str, value: Any) -> Any:
        return self.parse(name, value) if isinstance(value, str) else value

    def example(self) -> str:
        return "4.35%"


@dataclass(frozen=True, slots=True)
class Member(_Meta):
    """A member id (a transfer's recipient, a paying bank)."""

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or ID_PATTERN.fullmatch(value) is None:
            raise _bad(name, "a member id")
        return value

    def parse(self, name: str, text: str) -> str:
        return text

    def example(self) -> str:
        return "bank-a"


@dataclass(frozen=True, slots=True)
class Documents(_Meta):
    """The SHA-256 over the hashes of documents kept behind the gateway."""

    def check(self, name: str, value: Any) -> bytes:
        if not isinstance(value, bytes) or len(value) != 32:
            raise _bad(name, "a 32-byte document hash")
        return value

    def parse(self, name: str, text: str) -> bytes:
        # On the command line the documents are files (``--doc``); the client hashes
        # them. Hex is accepted for a hash computed elsewhere.
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise _bad(name, "hex or @FILE (or files given with --doc)") from None

    def from_json(self, name: str, value: Any) -> Any:
        return self.parse(name, value) if isinstance(value, str) else value

    def example(self) -> str:
        return "invoice.pdf"


# The fields of an invoice (scenarios.kit.Invoice) and the options that type them.
INVOICE_OPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "seller": "seller",
        "buyer": "buyer",
        "number": "invoice-number",
        "issued_on": "invoice-date",
        "amount": "invoice-amount",
        "currency": "currency",
    }
)


@dataclass(frozen=True, slots=True)
class Fingerprints(_Meta):
    """Fingerprints of one document family and the evaluation that produced them.

    On the ledger: ``{"exact": [fp, ...], "similar": [fp, ...], "receipt": id}``.
    ``similar`` says whether partial fingerprints are taken; ``bills`` whether bills of
    lading may join the set (``--bl CARRIER:NUMBER``). For the command line:
    ``options`` maps invoice fields to option names, ``defaults`` lets an invoice field
    default to a payload field (the invoice amount to the certificate's face), and
    ``fills`` sets payload fields from the normalised invoice (a registration's amount
    and currency are the invoice's). A ``document`` other than an invoice (an insured
    :class:`~scenarios.kit.Loss`) is typed as its own fields, ``options`` naming their
    options.
    """

    family: str = "invoice"
    similar: bool = False
    # None: an invoice (and bills of lading). Otherwise how the document is typed.
    document: DocumentKind | None = None
    bills: bool = False
    options: Mapping[str, str] = field(default_factory=lambda: INVOICE_OPTIONS)
    defaults: Mapping[str, str] = field(default_factory=dict)
    fills: Mapping[str, str] = field(default_factory=dict)

    def check(self, name: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping) or set(value) != {"exact", "similar", "receipt"}:
            raise _bad(name, "{exact, similar, receipt}")
        exact = ListOf(_FP, 1, 16, unique=True).check(f"{name}.exact", value["exact"])
        similar = ListOf(_FP, 0, 16 if self.similar else 0, unique=True).check(
            f"{name}.similar", value["similar"]
        )
        receipt = value["receipt"]
        if not isinstance(receipt, str) or RECEIPT_ID.fullmatch(receipt) is None:
            raise _bad(f"{name}.receipt", "the id of a recorded evaluation")
        return {"exact": exact, "similar": similar, "receipt": receipt}

    def count(self, value: Mapping[str, Any]) -> int:
        return len(value["exact"]) + len(value["similar"])

    def parse(self, name: str, text: str) -> Any:
        raise _bad(name, "typed as the document's fields (see --help)")

    def from_json(self, name: str, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        out = dict(value)
        for key in ("exact", "similar"):
            if isinstance(out.get(key), list):
                out[key] = [bytes.fromhex(v) if isinstance(v, str) else v for v in out[key]]
        return out

    def example(self) -> str:
        return "(the invoice's fields)"


@dataclass(frozen=True, slots=True)
class Screening(_Meta):
    """The id of a riskshare query receipt: the member screened something (a loan
    applicant's identifier) against the consortium's lists, and the responder recorded
    the answer as a ``credits.receipt``. The step consumes one item of it
    (``scenarios.kit.use_screening``); the ledger keeps the id, never the answer."""

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or RECEIPT_ID.fullmatch(value) is None:
            raise _bad(name, "the id of a recorded query receipt (64 hex digits)")
        return value

    def parse(self, name: str, text: str) -> str:
        return self.check(name, text.strip().lower())

    def example(self) -> str:
        return "9f2c" + "0" * 60
