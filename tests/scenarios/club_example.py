"""A confidential club loan on the kit: one module of declarations (SCENARIOS.md §8).

An agent and its lenders keep a bilateral-style loan that competitors must not read:
the principal, the rate and the borrower's reference are confidential. The machine is
declared ``Confidential``: every step is a ``club.private`` commitment on the shared
ledger, endorsed by the parties (agent and lenders, two thirds of them) who each run the
step on the state they hold; a regulator named on the loan receives every version and
signs nothing; everyone else sees a keyed hash, a version and signatures.

- ``originate`` — the agent creates the loan with its lenders (weighted by commitment)
  and the regulator;
- ``accrue`` — the agent books interest for a period (ACT/360), no lender consent;
- ``reprice`` — a new rate, which the lenders must agree by two thirds of their
  commitments;
- ``repay`` — the loan is repaid.

This module is what a ``scenarios/club/__init__.py`` would hold; the tests register it
next to the built-in scenarios (one entry in ``SCENARIO_MODULES``).
"""

from __future__ import annotations

from collections.abc import Iterable

from scenarios import Scenario
from scenarios.kit import (
    NEW,
    TWO_THIRDS,
    Accrue,
    Confidential,
    Date,
    DayCount,
    Int,
    Machine,
    MapOf,
    Member,
    Money,
    PartySet,
    Primitive,
    Rate,
    Schema,
    SetAttr,
    SetParty,
    Str,
    Transition,
    View,
    build_contract,
)

__all__ = ["LOANS", "SCENARIO"]

NAME = "club"
_ACTIVE = frozenset({"ACTIVE"})


def _originate(v: View) -> Iterable[Primitive]:
    p = v.payload
    yield SetParty("agent", v.actor)
    yield SetParty("lenders", PartySet.weighted(p["commitments"], TWO_THIRDS))
    yield SetParty("regulator", p["regulator"])
    yield SetAttr("principal", p["principal"])
    yield SetAttr("rate_bps", p["rate_bps"])
    yield SetAttr("reference", p["reference"])
    yield SetAttr("accrued", 0)


def _accrue(v: View) -> Iterable[Primitive]:
    a, p = v.before.attrs, v.payload
    yield Accrue(
        "period_interest",
        a["principal"],
        Rate.bps(a["rate_bps"]),
        DayCount.ACT_360,
        p["start"],
        p["end"],
    )


def _reprice(v: View) -> Iterable[Primitive]:
    yield SetAttr("rate_bps", v.payload["rate_bps"])


LOANS = Machine(
    NAME,
    "loan",
    [
        Transition(
            "originate",
            frozenset({NEW}),
            _ACTIVE,
            frozenset({"agent"}),
            Schema(
                {
                    "commitments": MapOf(Int(1, 10**15), help="lender:commitment;..."),
                    "regulator": Member(help="The observer who receives every version."),
                    "principal": Money("USD", 1, 10**15, help="Principal, e.g. 1,000,000.00."),
                    "rate_bps": Int(0, 10_000, help="Annual rate in basis points."),
                    "reference": Str(help="The borrower's reference (confidential)."),
                }
            ),
            _originate,
            help="Originate a confidential club loan with its lenders and regulator.",
        ),
        Transition(
            "accrue",
            _ACTIVE,
            _ACTIVE,
            frozenset({"agent"}),
            Schema({"start": Date(help="Period start."), "end": Date(help="Period end.")}),
            _accrue,
            help="Book the period's interest (ACT/360).",
        ),
        Transition(
            "reprice",
            _ACTIVE,
            _ACTIVE,
            frozenset({"agent"}),
            Schema({"rate_bps": Int(0, 10_000, help="The new rate in basis points.")}),
            _reprice,
            required_signers=frozenset({"lenders"}),
            help="Change the rate; two thirds of the lenders' commitments agree.",
        ),
        Transition(
            "repay",
            _ACTIVE,
            frozenset({"REPAID"}),
            frozenset({"agent"}),
            help="Record the loan repaid.",
        ),
    ],
    confidential=Confidential(
        retention_days=30, observer_roles=frozenset({"regulator"}), quorum=TWO_THIRDS
    ),
)

SCENARIO = Scenario(
    name=NAME,
    title="Confidential club loans",
    spec="SCENARIOS.md §8",
    contract=build_contract(NAME, [LOANS]),
    machines=(LOANS,),
)
