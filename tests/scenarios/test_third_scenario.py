"""A third scenario needs only its subpackage and one entry in ``SCENARIO_MODULES``.

``ebl_example`` (the §7b electronic bill of lading) is registered the documented way —
one more entry in ``scenarios._registry.SCENARIO_MODULES`` — and touches no other file.
Checked here: a registration that forgets its machines is refused; the CLI gets a
generic ``riskshare ebl`` group from the scenario alone; and through real gateway
processes, ``riskshare demo --scenario ebl`` runs its flow and the ``riskshare ebl``
commands drive it, the carrier's gateway previewing and co-signing the surrender.

The gateway and CLI processes cannot see a test's monkeypatch, so they load a
``sitecustomize`` that adds the one entry to ``SCENARIO_MODULES`` as that module loads:
exactly the line an author would add to the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import scenarios
from cli._scenario import scenario_group
from cli._scenario_options import read_payload
from gateway._localnet import LocalConsortium, create_local_consortium
from gateway._processes import GatewayProcess, start_gateways, stop_gateways
from gateway._scenario_client import documents_hash
from ledger import ContractError, Store, encode
from scenarios import Scenario, ScenarioError, all_scenarios
from scenarios.kit import build_contract
from tests.scenarios import ebl_example
from tests.scenarios.ebl_example import BILLS

ROOT = Path(__file__).resolve().parents[2]
ENTRY = "import sys; from cli import main; sys.argv[0] = 'riskshare'; main()"
MEMBERS = ["carrier", "shipper", "bank"]
# The registration line, applied as scenarios._registry loads (see the module docstring).
REGISTER = '''"""Registers tests.scenarios.ebl_example as scenarios/_registry.py would list it."""

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
            module.SCENARIO_MODULES = (*module.SCENARIO_MODULES, "tests.scenarios.ebl_example")

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _Register())
'''


def test_a_scenario_that_forgets_its_machines_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    bare = Scenario("ebl", "t", "s", build_contract("ebl", [BILLS]), machines=())
    with pytest.raises(ScenarioError, match="every kind needs its machine in machines="):
        bare.check()
    monkeypatch.setattr(ebl_example, "SCENARIO", bare)
    monkeypatch.setattr(
        scenarios._registry,
        "SCENARIO_MODULES",
        (*scenarios.SCENARIO_MODULES, "tests.scenarios.ebl_example"),
    )
    with pytest.raises(ScenarioError, match=r"missing \['ebl.endorse', 'ebl.issue'"):
        all_scenarios()


def test_the_generic_group_is_made_from_the_machines(tmp_path: Path) -> None:
    group = scenario_group(ebl_example.SCENARIO)
    names = [c.name for c in group.registered_commands]
    assert names == [
        "issue",
        "endorse",
        "surrender",
        "authorize",
        "show",
        "list",
        "submit",
        "approve",
        "watch",
        "demo",
    ]
    runner = CliRunner()
    for name in names:
        result = runner.invoke(group, [str(name), "--help"])
        assert result.exit_code == 0, result.output
        assert f"riskshare ebl {name}" in result.output and "Example:" in result.output
    surrender = runner.invoke(group, ["surrender", "--help"]).output
    assert "The carrier co-signs" in surrender and "authorize surrender" in surrender
    doc = tmp_path / "bl.pdf"
    doc.write_bytes(b"bill of lading")
    schema = BILLS.transitions["issue"].schema
    payload = read_payload(schema, None, ["shipper=shipper", f"doc_hash=@{doc}"])
    assert payload["doc_hash"] == [doc]
    assert (
        documents_hash(payload["doc_hash"])
        == hashlib.sha256(
            encode("scenario-documents", 1, [hashlib.sha256(b"bill of lading").digest()])
        ).digest()
    )
    for sets, error in [
        (["shipper=shipper", "colour=red"], "unknown field 'colour'"),
        (["shipper"], "takes FIELD=VALUE"),
        (["shipper=a", "shipper=b"], "given twice"),
        (["shipper=shipper", "doc_hash=zz"], "hex or @FILE"),
    ]:
        result = runner.invoke(group, ["issue", "BL-9", *[f"--set={s}" for s in sets]])
        assert result.exit_code == 2 and error in result.output, result.output
    with pytest.raises(ContractError, match="'doc_hash' is required"):
        schema.check(read_payload(schema, None, ["shipper=shipper"]))


# Through real gateway processes --------------------------------------------------------


def environment(tmp_path: Path) -> dict[str, str]:
    shim = tmp_path / "register-ebl"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(REGISTER)
    path = [str(shim), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {"PYTHONPATH": os.pathsep.join(path)}


def riskshare(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *argv],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **env},
        cwd=ROOT,
    )


def test_the_demo_of_a_registered_third_scenario(tmp_path: Path) -> None:
    proc = riskshare(environment(tmp_path), "demo", "--scenario", "ebl", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["correct"] and report["heads_equal"]
    assert sorted(report["heads"]) == ["bank", "carrier", "orderer", "shipper"]
    steps = [(s["actor"], s["outcome"]) for s in report["steps"]]
    assert steps == [
        ("carrier", "applied"),
        ("carrier", "refused"),
        ("shipper", "applied"),
        ("bank", "refused"),
        ("bank", "applied"),
    ]
    assert "only the holder" in report["steps"][1]["detail"]
    assert "carrier has not authorised ebl.surrender on BL-1" in report["steps"][3]["detail"]
    assert report["steps"][4]["detail"].startswith(
        "BL-1 SURRENDERED v3 carrier=carrier holder=bank"
    )
    assert "signed bank+carrier" in report["steps"][4]["detail"]


@dataclass
class Ebl:
    net: LocalConsortium
    gateways: dict[str, GatewayProcess]
    env: dict[str, str]

    def cli(self, member: str, *argv: str) -> subprocess.CompletedProcess[str]:
        config = str(self.net.members[member].config_path)
        return riskshare(self.env, *argv, "--config", config)

    def bill(self, bill: str) -> Any:
        """The bill as every replica holds it, once they all agree."""
        deadline = time.monotonic() + 60
        while True:
            seen = []
            for member in ["orderer", *MEMBERS]:
                path = self.net.member(member).data_dir / "ledger.sqlite"
                with Store(path, create=False) as store:
                    seen.append(BILLS.get(store.state(), bill))
            if all(s == seen[0] for s in seen):
                return seen[0]
            assert time.monotonic() < deadline, seen
            time.sleep(0.1)


@pytest.fixture(scope="module")
def ebl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ebl]:
    root = tmp_path_factory.mktemp("ebl")
    env = environment(root)
    net = create_local_consortium(root, MEMBERS)
    gateways = start_gateways(net, env=env)
    try:
        yield Ebl(net, gateways, env)
    finally:
        codes = stop_gateways(gateways)
        assert all(code == 0 for code in codes.values()), codes


def test_the_generic_commands_through_the_gateways(ebl: Ebl, tmp_path: Path) -> None:
    doc = tmp_path / "bl.pdf"
    doc.write_bytes(b"%PDF-1.7 bill of lading MSKU 1234567")
    listed = riskshare(ebl.env, "ebl", "--help")
    assert listed.returncode == 0 and "Electronic bills of lading" in listed.stdout
    issued = ebl.cli(
        "carrier", "ebl", "issue", "BL-7", "--set", "shipper=shipper", "--set", f"doc_hash=@{doc}"
    )
    assert issued.returncode == 0, issued.stderr
    assert issued.stdout.startswith("BL-7  ISSUED  v1  carrier=carrier holder=shipper")
    refused = ebl.cli("carrier", "ebl", "endorse", "BL-7", "--set", "to=bank")
    assert refused.returncode == 2 and refused.stdout == ""
    assert "only the holder of bill 'BL-7' may endorse" in refused.stderr
    endorsed = ebl.cli("shipper", "ebl", "endorse", "BL-7", "--set", "to=bank", "--json")
    assert json.loads(endorsed.stdout)["object"]["parties"]["holder"] == "bank"

    # The bank names no co-signer: its gateway finds the carrier must sign, and the
    # carrier's gateway previews the step and wants its operator's authorisation.
    unauthorised = ebl.cli("bank", "ebl", "surrender", "BL-7")
    assert unauthorised.returncode == 2
    assert "carrier has not authorised ebl.surrender on BL-7" in unauthorised.stderr
    assert ebl.bill("BL-7").state == "TRANSFERRED"
    assert ebl.cli("carrier", "ebl", "authorize", "surrender", "BL-7").returncode == 0
    surrendered = ebl.cli("bank", "ebl", "surrender", "BL-7", "--json")
    assert surrendered.returncode == 0, surrendered.stderr
    reply = json.loads(surrendered.stdout)
    assert reply["signers"] == ["bank", "carrier"] and reply["object"]["state"] == "SURRENDERED"

    assert (ebl.bill("BL-7").state, ebl.bill("BL-7").version) == ("SURRENDERED", 3)
    shown = json.loads(ebl.cli("shipper", "ebl", "show", "BL-7").stdout)
    assert [e["transition"] for e in shown["events"]] == ["issue", "endorse", "surrender"]
    assert shown["events"][-1]["signers"] == ["bank", "carrier"]
