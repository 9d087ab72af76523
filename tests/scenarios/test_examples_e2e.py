"""The kit's examples through real gateway processes over mutual TLS.

One consortium for the module: an embedded orderer and five member gateways, each
``riskshare gateway serve`` in its own process. The example scenarios are registered
the documented way — one more entry in ``SCENARIO_MODULES`` — in the gateway processes
(a ``sitecustomize``, as ``test_third_scenario`` does) and in this process (patched for
the module). Commands run through the generated ``riskshare <scenario>`` group.

Delivery versus payment (``dvp_example``): two instruments minted by their issuers to
two owners, a trade, two instructions, the oracle's price, and one atomic transaction
of three legs — refused whole while the payment leg's own machine refuses it (nothing
moves on any replica), refused by the seller's gateway when its approval covers
another digest, then applied with both signatures. ``watch`` streams a party's events
and not a non-party's; ``list`` finds objects by type, state and party.

A confidential club loan (``club_example``): the agent and two lenders endorse every
step on the state each holds, a regulator receives it, a fifth member is no party.
Shown: the parties and the regulator hold the principal, the rate and the reference;
no ledger, no log and no file of the non-party (or the orderer) holds any of them, in
any form scanned, and the non-party's replica verifies the whole chain; a lender whose
gateway was down while the others went on fetches the missed version from another
party and checks it against its commitment; a repricing needs the lenders' approval
of its exact digest; after the scenario's retention (the consortium's clock moved on
with libfaketime, ``_clock``) a purge deletes the private state, the commitments stay
and every chain still verifies.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cbor2
import pytest

import scenarios
from gateway import GatewayError
from gateway._localnet import create_local_consortium
from gateway._processes import start_gateway
from gateway._registry import consortium_registry
from ledger import verify_chain
from scenarios.kit import Holdings, private_rows
from tests.scenarios._clock import SharedClock
from tests.scenarios._harness import Consortium, running, secrets_in

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = ["issuer", "cashbank", "seller", "buyer", "exchange"]
EXAMPLES = ("tests.scenarios.dvp_example", "tests.scenarios.club_example")
REGISTER = '''"""Registers the kit's examples as scenarios/_registry.py would list them."""

import importlib.abc
import importlib.machinery
import sys


class _Register(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "scenarios._registry":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            module.SCENARIO_MODULES = (*module.SCENARIO_MODULES, *EXAMPLES)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _Register())
'''


@dataclass
class Examples(Consortium):
    """The consortium on one wall clock (``clock``), every process started with ``env``
    (the clock's, and the examples registered)."""

    clock: SharedClock = field(init=False)
    env: dict[str, str] = field(init=False)


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Examples]:
    root = tmp_path_factory.mktemp("examples")
    # Every process lives on one wall clock (the purge test moves it past the retention)
    # and registers the examples, in the one sitecustomize an interpreter loads.
    register = REGISTER.replace("*EXAMPLES", "*" + repr(EXAMPLES))
    clock = SharedClock(root / "clock", sitecustomize=register)
    env = clock.env()
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(ROOT)])
    net = create_local_consortium(root, MEMBERS, params={"dvp.oracle": "exchange"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            scenarios._registry, "SCENARIO_MODULES", (*scenarios.SCENARIO_MODULES, *EXAMPLES)
        )
        # The registry is built once per process; this one now has two more scenarios.
        consortium_registry.cache_clear()
        try:
            with running(net, Examples, env=env) as found:
                found.clock, found.env = clock, env
                yield found
        finally:
            consortium_registry.cache_clear()


def test_delivery_versus_payment_through_the_gateways(examples: Examples) -> None:
    run = examples.cli
    today = dt.datetime.now(dt.UTC).date().isoformat()
    run("dvp", "issuer", "create", "ACME")
    run("dvp", "issuer", "issue", "ACME", "--to", "seller", "--qty", "1000")
    run("dvp", "cashbank", "create", "USD")
    run("dvp", "cashbank", "issue", "USD", "--to", "buyer", "--qty", "20000000")
    start = examples.settled()
    trade = ["--buyer", "buyer", "--security", "ACME", "--qty", "100", "--cash", "USD"]
    trade += ["--price", "1250", "--trade-date", today, "--tolerance-bps", "50"]
    run("dvp", "seller", "propose", "T1", *trade)
    run("dvp", "buyer", "match", "T1")
    delivery = ["--receiver", "buyer", "--instrument", "ACME", "--qty", "100", "--trade", "T1"]
    payment = ["--receiver", "seller", "--instrument", "USD", "--qty", "125000", "--trade", "T1"]
    run("dvp", "seller", "instruct", "D1", *delivery)
    run("dvp", "buyer", "instruct", "P1", *payment)
    run("dvp", "seller", "allocate", "D1")
    observed = run(
        "dvp",
        "exchange",
        "observe",
        "ACME",
        "--as-of",
        today,
        "--value",
        "1250",
        "--scale",
        "2",
        "--json",
    )
    assert observed["height"] > start
    examples.refused(
        "the dvp oracle is 'exchange', not seller",
        "dvp",
        "seller",
        "observe",
        "ACME",
        "--as-of",
        today,
        "--value",
        "1",
        "--scale",
        "2",
    )

    tx = examples.root / "dvp.json"
    legs = [
        {
            "machine": "trade",
            "object": "T1",
            "transition": "settle",
            "payload": {"delivery": "D1", "payment": "P1"},
        },
        {"machine": "instruction", "object": "D1", "transition": "settle_instruction"},
        {"machine": "instruction", "object": "P1", "transition": "settle_instruction"},
    ]
    tx.write_text(json.dumps({"legs": legs}))
    run("dvp", "seller", "approve", str(tx))
    # The buyer never locked its cash: the payment leg's own machine refuses, and the
    # delivery leg does not happen either, on any replica.
    examples.refused(
        "settle_instruction is not allowed when instruction 'P1' is PENDING",
        "dvp",
        "buyer",
        "submit",
        str(tx),
    )
    run("dvp", "buyer", "allocate", "P1")
    # The seller approved the transaction as it was (P1 at its old version): its
    # gateway refuses to co-sign this one.
    examples.refused(
        "seller authorised dvp.tx on T1 for another transaction",
        "dvp",
        "buyer",
        "submit",
        str(tx),
    )
    run("dvp", "seller", "approve", str(tx))
    settled = run("dvp", "buyer", "submit", str(tx), "--json")
    assert settled["signers"] == ["buyer", "seller"]
    assert settled["object"]["state"] == "SETTLED"

    holdings = Holdings("dvp")
    examples.settled()
    for member in ["orderer", *MEMBERS]:
        with examples.store(member) as store:
            state = store.state()
            assert holdings.balance(state, "ACME", "buyer") == 100
            assert holdings.balance(state, "ACME", "seller") == 900
            assert holdings.balance(state, "USD", "seller") == 125_000
            assert holdings.audit(state, "USD").outstanding == 20_000_000
    shown = run("dvp", "buyer", "show", "ACME")
    assert shown["id_supply"] == {"issued": 1000, "live": 1000}

    mine = run("dvp", "buyer", "list", "--type", "instruction", "--state", "SETTLED")
    assert sorted(o["id"] for o in mine) == ["D1", "P1"]
    events = run("dvp", "buyer", "watch", "--from-height", str(start))
    seen = (
        [json.loads(line) for line in events.splitlines()] if isinstance(events, str) else [events]
    )
    assert {(e["object"], e["transition"]) for e in seen} >= {
        ("T1", "propose"),
        ("T1", "match"),
        ("T1", "settle"),
        ("D1", "settle_instruction"),
        ("P1", "settle_instruction"),
    }
    assert all("buyer" in e["members"] for e in seen)
    others = run("dvp", "issuer", "watch", "--from-height", str(start))
    assert others.strip() == ""  # the issuer is a party to none of them


# A confidential club loan ------------------------------------------------------------------

PRINCIPAL = 73_310_000_00
SECRETS = {
    b"CLUB-REF-5521": "the borrower's reference",
    b"CLUB-7": "the loan's id",
    b"7331000000": "the principal in minor units",
    b"73,310,000.00": "the principal as typed",
    b"73310000.00": "the principal, plain",
    cbor2.dumps(PRINCIPAL): "the principal as CBOR",
    b"58098175": "the period's interest",
    cbor2.dumps(580_981_75): "the period's interest as CBOR",
}


def _shared(examples: Examples) -> list[Path]:
    """Every ledger, every gateway's log, every file of the non-party and the orderer."""
    data = examples.root / "data"
    places = [*data.rglob("ledger.sqlite*"), *data.rglob("gateway.log*")]
    places += [p for m in ("issuer", "orderer") for p in (data / m).rglob("*")]
    return places


def _private_store(examples: Examples, member: str) -> list[Path]:
    return list((examples.root / "data" / member).glob("scenarios.sqlite*"))


def _restart(examples: Examples, member: str) -> None:
    config = examples.net.member(member).config_path
    examples.gateways[member] = start_gateway(member, config, examples.env)
    examples.gateways[member].wait_serving(120)


def test_a_confidential_loan_stays_with_its_parties(examples: Examples) -> None:
    run = examples.cli
    originate = ["--commitments", "buyer:60;exchange:40", "--regulator", "cashbank"]
    originate += ["--principal", "73,310,000.00", "--rate-bps", "317"]
    originate += ["--reference", "CLUB-REF-5521", "--json"]
    made = run("club", "seller", "originate", "CLUB-7", *originate)
    assert made["signers"] == ["buyer", "exchange", "seller"]  # every party endorsed
    for member in ("seller", "buyer", "exchange", "cashbank"):
        held = run("club", member, "show", "CLUB-7")
        assert held["attrs"]["principal"] == PRINCIPAL, member
        assert held["attrs"]["reference"] == "CLUB-REF-5521"
        assert held["confidential"]["held_version"] == held["confidential"]["ledger_version"] == 1
    with pytest.raises(GatewayError, match="holds no confidential club object 'CLUB-7'"):
        run("club", "issuer", "show", "CLUB-7")

    # A lender's gateway is down: the agent and the other lender are two thirds of the
    # parties, and go on.
    examples.gateways["exchange"].stop()
    assert examples.gateways["exchange"].process.wait(60) == 0
    accrued = run(
        "club",
        "seller",
        "accrue",
        "CLUB-7",
        "--start",
        "2025-01-06",
        "--end",
        "2025-04-06",
        "--json",
    )
    assert accrued["signers"] == ["buyer", "seller"]
    assert run("club", "buyer", "show", "CLUB-7")["attrs"]["period_interest"] == 580_981_75
    _restart(examples, "exchange")
    examples.settled()
    assert run("club", "exchange", "sync") == {"fetched": 1, "missing": []}
    caught_up = run("club", "exchange", "show", "CLUB-7")
    assert caught_up["version"] == 2 and caught_up["attrs"]["period_interest"] == 580_981_75

    # Repricing needs two thirds of the lenders' commitments, each approving the exact
    # step: the exchange approved another rate, so its gateway refuses, and the buyer's
    # 60 % alone is not enough.
    run("club", "buyer", "authorize", "CLUB-7", "--rate-bps", "290")
    run("club", "exchange", "authorize", "CLUB-7", "--rate-bps", "280")
    before = run("club", "seller", "show", "CLUB-7")
    with pytest.raises(
        GatewayError, match=r"exchange authorised club\.reprice on CLUB-7 for another"
    ):
        run("club", "seller", "reprice", "CLUB-7", "--rate-bps", "290")
    assert run("club", "seller", "show", "CLUB-7") == before
    run("club", "exchange", "authorize", "CLUB-7", "--rate-bps", "290")
    repriced = run("club", "seller", "reprice", "CLUB-7", "--rate-bps", "290", "--json")
    assert repriced["object"]["attrs"]["rate_bps"] == 290
    assert run("club", "cashbank", "show", "CLUB-7")["attrs"]["rate_bps"] == 290

    # A party watching sees its loan's steps by name; a non-party, none of them.
    seen = run("club", "buyer", "watch")
    steps = [json.loads(line) for line in seen.splitlines()]
    assert [(e["object"], e["version"], e["state"]) for e in steps] == [
        ("CLUB-7", 1, "ACTIVE"),
        ("CLUB-7", 2, "ACTIVE"),
        ("CLUB-7", 3, "ACTIVE"),
    ]
    assert run("club", "issuer", "watch").strip() == ""

    # No private field on any ledger, in any log, or anywhere the non-party keeps files;
    # and the non-party's replica verifies the chain without any of it. (A control: the
    # same scan finds them where a party keeps them.)
    assert secrets_in(_shared(examples), SECRETS) == []
    assert ("scenarios.sqlite", "the borrower's reference") in secrets_in(
        _private_store(examples, "exchange"), SECRETS
    )
    height = examples.settled()
    with examples.store("issuer") as store:
        assert verify_chain(store, consortium_registry()).height == height
        (row,) = private_rows(store.state(), "club")
        assert (row.version, row.observers) == (3, ("cashbank",))

    # Past the retention (30 days), the parties purge; the commitments stay.
    examples.clock.advance(31)
    for member in ("seller", "buyer", "exchange", "cashbank"):
        assert run("club", member, "purge")["purged"] >= 1, member
        with pytest.raises(GatewayError, match="holds no confidential club object"):
            run("club", member, "show", "CLUB-7")
    # (The gateways' own housekeeping may have added blocks since; the whole chain
    # verifies, up to where each replica is.)
    height = examples.settled()
    for member in ("seller", "issuer"):
        with examples.store(member) as store:
            assert verify_chain(store, consortium_registry()).height == height
            (row,) = private_rows(store.state(), "club")
            assert row.version == 3
    assert secrets_in(_shared(examples), SECRETS) == []
    for member in ("seller", "buyer", "exchange", "cashbank"):
        assert secrets_in(_private_store(examples, member), SECRETS) == [], member
