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
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import scenarios
from cli._scenario import scenario_group
from gateway import GatewayError
from gateway._localnet import LocalConsortium, create_local_consortium
from gateway._processes import GatewayProcess, start_gateways, stop_gateways
from ledger import Store
from scenarios import ScenarioError, get_scenario
from scenarios.kit import Holdings

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = ["issuer", "cashbank", "seller", "buyer", "exchange"]
EXAMPLES = ("tests.scenarios.dvp_example",)
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
class Examples:
    net: LocalConsortium
    gateways: dict[str, GatewayProcess]
    root: Path

    def config(self, member: str) -> Path:
        return self.net.member(member).config_path

    def cli(self, scenario: str, member: str, *args: str) -> Any:
        """``riskshare <scenario> <args> --config <member>.toml``: JSON when it prints
        JSON; a refusal raises the domain error the CLI would print (exit 2)."""
        group = scenario_group(get_scenario(scenario))
        result = CliRunner().invoke(group, [*args, "--config", str(self.config(member))])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == 0, result.output
        try:
            return json.loads(result.output)
        except ValueError:
            return result.output

    def store(self, member: str) -> Store:
        return Store(self.net.member(member).data_dir / "ledger.sqlite", create=False)

    def settled(self) -> int:
        deadline = time.monotonic() + 30
        while True:
            heads = set()
            for member in ["orderer", *MEMBERS]:
                with self.store(member) as store:
                    head = store.head()
                    heads.add(None if head is None else (head.height, head.hash))
            if len(heads) == 1:
                (only,) = heads
                assert only is not None
                return only[0]
            assert time.monotonic() < deadline, heads
            time.sleep(0.1)

    def tables(self, contract: str) -> list[dict[str, list[Any]]]:
        """Every table of ``contract`` on every replica, once they agree."""
        self.settled()
        tables = sorted(get_scenario(contract).contract.tables)
        out = []
        for member in ["orderer", *MEMBERS]:
            with self.store(member) as store:
                state = store.state()
                out.append({t: list(state.scan(t)) for t in tables})
        assert all(t == out[0] for t in out)
        return out

    def refused(self, contract: str, match: str, fn: Any, *args: Any) -> None:
        before = self.tables(contract)
        with pytest.raises((GatewayError, ScenarioError), match=match):
            fn(*args)
        assert self.tables(contract) == before


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Examples]:
    root = tmp_path_factory.mktemp("examples")
    shim = root / "register-examples"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(REGISTER.replace("EXAMPLES", repr(EXAMPLES)))
    path = [str(shim), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {"PYTHONPATH": os.pathsep.join(path)}
    net = create_local_consortium(root, MEMBERS, params={"dvp.oracle": "exchange"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            scenarios._registry, "SCENARIO_MODULES", (*scenarios.SCENARIO_MODULES, *EXAMPLES)
        )
        gateways = start_gateways(net, env=env)
        try:
            yield Examples(net, gateways, root)
        finally:
            codes = stop_gateways(gateways)
            assert all(code == 0 for code in codes.values()), codes


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
        "dvp",
        "the dvp oracle is 'exchange', not seller",
        run,
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
        "dvp",
        "settle_instruction is not allowed when instruction 'P1' is PENDING",
        run,
        "dvp",
        "buyer",
        "submit",
        str(tx),
    )
    run("dvp", "buyer", "allocate", "P1")
    # The seller approved the transaction as it was (P1 at its old version): its
    # gateway refuses to co-sign this one.
    examples.refused(
        "dvp",
        "seller authorised dvp.tx on T1 for another transaction",
        run,
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
