"""The electronic bill of lading (SCENARIOS.md §6, §7b): exactly one holder at a time.

The carrier issues it to the shipper; only the current holder endorses it to the next
(the beneficiary to the issuing bank with the presentation, the bank to the applicant
when it releases the documents); the holder surrenders it to the carrier at discharge,
after which nothing moves it; the carrier may void one not yet endorsed. The bill is on
the shared ledger (its number and holders), not its contents: the document stays
behind the holders' gateways, the ledger has its hash.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger import ContractError
from scenarios.kit import (
    NEW,
    Documents,
    Machine,
    Member,
    Primitive,
    Schema,
    SetParty,
    Transition,
    View,
)

__all__ = ["BILLS"]

_MEMBERS = frozenset({"member"})


def _issue(v: View) -> Iterable[Primitive]:
    yield SetParty("carrier", v.actor)
    yield SetParty("holder", v.payload["to"])


def _endorse(v: View) -> Iterable[Primitive]:
    if v.payload["to"] == v.actor:
        raise ContractError("the holder endorses to another member")
    yield SetParty("holder", v.payload["to"])


def _surrender(v: View) -> Iterable[Primitive]:
    yield SetParty("holder", v.before.parties["carrier"])


BILLS = Machine(
    "lc",
    "bill",
    (
        Transition(
            "issue_bill",
            frozenset({NEW}),
            frozenset({"ISSUED"}),
            frozenset({"carrier"}),
            Schema(
                {
                    "to": Member(help="The shipper it is issued to."),
                    "doc": Documents(option="doc", help="The bill of lading."),
                }
            ),
            _issue,
            consortium_roles=_MEMBERS,
            help="Issue an electronic bill of lading to the shipper.",
        ),
        Transition(
            "endorse_bill",
            frozenset({"ISSUED", "ENDORSED"}),
            frozenset({"ENDORSED"}),
            frozenset({"holder"}),
            Schema({"to": Member(help="The next holder.")}),
            _endorse,
            consortium_roles=_MEMBERS,
            help="Endorse the bill you hold to the next holder.",
        ),
        Transition(
            "surrender_bill",
            frozenset({"ISSUED", "ENDORSED"}),
            frozenset({"SURRENDERED"}),
            frozenset({"holder"}),
            effect=_surrender,
            consortium_roles=_MEMBERS,
            help="Surrender the bill you hold to the carrier at discharge.",
        ),
        Transition(
            "void_bill",
            frozenset({"ISSUED"}),
            frozenset({"VOID"}),
            frozenset({"carrier"}),
            consortium_roles=_MEMBERS,
            help="Void a bill not yet endorsed.",
        ),
    ),
)
