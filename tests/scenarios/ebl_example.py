"""A third scenario, written the way docs/SCENARIOS.md tells: the eB/L document flow.

SCENARIOS.md §7b: a carrier issues an electronic bill of lading to a shipper; the
holder endorses it to the next holder; the holder at discharge surrenders it to the
carrier, who co-signs. Exactly one holder; only the current holder endorses. This
module is what a new ``scenarios/ebl/__init__.py`` would hold; the tests register it
next to the built-in scenarios (one entry in ``SCENARIO_MODULES``) to show that nothing
else has to change: the contract runs on every node, the gateways co-sign its steps,
``riskshare ebl ...`` has a command per transition, and ``riskshare demo --scenario
ebl`` runs the flow below.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger import ContractError
from scenarios import Scenario
from scenarios.kit import (
    NEW,
    Demo,
    DemoRun,
    Documents,
    Machine,
    Member,
    Primitive,
    Schema,
    SetParty,
    Transition,
    View,
    build_contract,
)

__all__ = ["BILLS", "SCENARIO"]


def _issue(v: View) -> Iterable[Primitive]:
    yield SetParty("carrier", v.actor)
    yield SetParty("holder", v.payload["shipper"])


def _endorse(v: View) -> Iterable[Primitive]:
    if v.payload["to"] == v.before.parties["holder"]:
        raise ContractError("endorse to another member")
    yield SetParty("holder", v.payload["to"])


BILLS = Machine(
    "ebl",
    "bill",
    [
        Transition(
            "issue",
            frozenset({NEW}),
            frozenset({"ISSUED"}),
            frozenset({"carrier"}),
            Schema({"shipper": Member(), "doc_hash": Documents()}),
            _issue,
        ),
        Transition(
            "endorse",
            frozenset({"ISSUED", "TRANSFERRED"}),
            frozenset({"TRANSFERRED"}),
            frozenset({"holder"}),
            Schema({"to": Member()}),
            _endorse,
        ),
        Transition(
            "surrender",
            frozenset({"ISSUED", "TRANSFERRED"}),
            frozenset({"SURRENDERED"}),
            frozenset({"holder"}),
            required_signers=frozenset({"carrier"}),
        ),
    ],
)


def _demo(run: DemoRun) -> None:
    issue = {"shipper": "shipper", "doc_hash": run.document_hash()}
    run.step("carrier", "issue BL-1 to the shipper", "ebl.issue", "BL-1", issue)
    endorse = {"to": "bank"}
    run.step(
        "carrier", "endorse BL-1 (not its holder)", "ebl.endorse", "BL-1", endorse, refused=True
    )
    run.step("shipper", "endorse BL-1 to the bank", "ebl.endorse", "BL-1", endorse)
    run.step("bank", "surrender BL-1 unauthorised", "ebl.surrender", "BL-1", refused=True)
    run.authorize("carrier", "ebl.surrender", "BL-1")
    run.step("bank", "surrender BL-1 (the carrier co-signs)", "ebl.surrender", "BL-1")


SCENARIO = Scenario(
    name="ebl",
    title="Electronic bills of lading",
    spec="SCENARIOS.md §7b",
    contract=build_contract("ebl", [BILLS]),
    machines=(BILLS,),
    demo=Demo(members=("carrier", "shipper", "bank"), flow=_demo),
)
