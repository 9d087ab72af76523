"""Asset custody through real gateway processes, driven by the command line.

One consortium for the module: an embedded orderer and six member gateways (the five
roles and an outsider), each ``riskshare gateway serve`` in its own process over mutual
TLS. The agreement is drafted and signed by all five (each operator approving the exact
step); an instruction over the concentration limit fails its check, naming the rule,
and the custodian's acceptance is refused with nothing changed on any replica; the five
amend the limit; the same instruction passes, is accepted and settled, and the NAV
reported. The auditor holds every version; no ledger, no log and no file of the
outsider or the orderer holds the product's id, its cash or its bond.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
import pytest
from typer.testing import CliRunner

from cli._scenario import scenario_group
from gateway import GatewayError
from gateway._localnet import LocalConsortium, create_local_consortium
from gateway._processes import GatewayProcess, start_gateways, stop_gateways
from ledger import Store
from scenarios import ScenarioError, get_scenario
from scenarios.cust._demo import RULES_V1, RULES_V2
from tests.privacy._scan import sqlite_rows

FIVE = ["entrustor", "manager", "custodian", "adviser", "auditor"]
MEMBERS = [*FIVE, "outsider"]
SECRETS: dict[bytes, str] = {
    b"FUND-Z9": "the product's id",
    b"ZETA-2029": "the bond",
    b"ZETACORP": "the issuer",
    b"12345678900": "the cash",
    cbor2.dumps(123_456_789_00): "the cash as CBOR",
}


@dataclass
class Consortium:
    net: LocalConsortium
    gateways: dict[str, GatewayProcess]
    root: Path

    def run(self, member: str, *args: str) -> Any:
        group = scenario_group(get_scenario("cust"))
        config = self.net.member(member).config_path
        result = CliRunner().invoke(group, [*args, "--config", str(config)])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == 0, result.output
        try:
            return json.loads(result.output)
        except ValueError:
            return result.output

    def tables(self) -> list[dict[str, list[Any]]]:
        deadline = time.monotonic() + 60
        tables = sorted(get_scenario("cust").contract.tables)
        while True:
            out = []
            for member in ["orderer", *MEMBERS]:
                path = self.net.member(member).data_dir / "ledger.sqlite"
                with Store(path, create=False) as store:
                    state = store.state()
                    out.append({t: list(state.scan(t)) for t in tables})
            if all(t == out[0] for t in out):
                return out
            assert time.monotonic() < deadline, "the replicas never agreed"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    root = tmp_path_factory.mktemp("cust")
    net = create_local_consortium(root, MEMBERS)
    gateways = start_gateways(net, timeout=600)
    try:
        yield Consortium(net, gateways, root)
    finally:
        codes = stop_gateways(gateways, timeout=120)
        assert all(code == 0 for code in codes.values()), codes


def test_a_breach_is_refused_until_all_five_amend_the_rules(consortium: Consortium) -> None:
    run = consortium.run
    run("entrustor", "draft", "FUND-Z9", "--manager", "manager", "--custodian", "custodian",
        "--adviser", "adviser", "--auditor", "auditor", "--currency", "CNY",
        "--cash", "123,456,789.00", "--set", f"rules={json.dumps(RULES_V1)}")  # fmt: skip
    for member in FIVE[1:]:
        run(member, "authorize", "sign", "FUND-Z9")
    assert run("entrustor", "sign", "FUND-Z9", "--json")["object"]["state"] == "ACTIVE"
    run("manager", "list-security", "FUND-Z9", "--instrument", "ZETA-2029", "--class", "corp",
        "--issuer", "ZETACORP", "--rating", "AA", "--price", "100.00")  # fmt: skip
    order = ["--instruction", "I-1", "--side", "buy", "--instrument", "ZETA-2029",
             "--qty", "150000", "--price", "100.00", "--counterparty", "BROKER-A"]  # fmt: skip
    run("adviser", "propose", "FUND-Z9", *order)
    failed = run("manager", "submit-instruction", "FUND-Z9", "--instruction", "I-1", "--json")
    entry = failed["object"]["attrs"]["instructions"]["I-1"]
    assert (entry["state"], entry["violations"]) == (
        "CHECKED_FAIL",
        ["max_issuer: ZETACORP 12.15 % of NAV above 10.00 %"],  # 15,000,000 / 123,456,789
    )
    before = consortium.tables()
    with pytest.raises((GatewayError, ScenarioError), match="did not pass its check"):
        run("custodian", "accept", "FUND-Z9", "--instruction", "I-1")
    assert consortium.tables() == before
    amend = f"params={json.dumps(RULES_V2)}"
    for member in ("entrustor", "custodian", "adviser", "auditor"):
        run(member, "authorize", "amend-rules", "FUND-Z9", "--set", amend)
    run("manager", "amend-rules", "FUND-Z9", "--set", amend)
    passed = run("manager", "submit-instruction", "FUND-Z9", "--instruction", "I-1", "--json")
    assert passed["object"]["attrs"]["instructions"]["I-1"]["state"] == "CHECKED_PASS"
    run("custodian", "accept", "FUND-Z9", "--instruction", "I-1")
    run("custodian", "settle", "FUND-Z9", "--instruction", "I-1", "--bank-ref", "CNAPS-1")
    run("custodian", "report-nav", "FUND-Z9", "--date", "2025-01-06")
    held = run("auditor", "show", "FUND-Z9")
    assert held["attrs"]["cash"] == 123_456_789_00 - 150_000 * 100_00
    assert held["attrs"]["navs"] == [{"date": "2025-01-06", "nav": 123_456_789_00}]
    assert held["attrs"]["rules"]["version"] == 2
    with pytest.raises((GatewayError, ScenarioError), match="holds no confidential"):
        run("outsider", "show", "FUND-Z9")


def _scan(paths: list[Path]) -> list[tuple[str, str]]:
    found, scanned = [], 0
    for path in sorted(set(paths)):
        if not path.is_file():
            continue
        blobs = [path.read_bytes()]
        if path.suffix == ".sqlite":
            blobs += [blob for _, blob in sqlite_rows(path)]
        scanned += 1
        found += [(path.name, what) for s, what in SECRETS.items() if any(s in b for b in blobs)]
    assert scanned > 0
    return found


def test_non_parties_hold_no_private_field(consortium: Consortium) -> None:
    consortium.tables()
    data = consortium.root / "data"
    shared = [*data.rglob("ledger.sqlite*"), *data.rglob("gateway.log*")]
    shared += [p for m in ("outsider", "orderer") for p in (data / m).rglob("*")]
    assert _scan(shared) == []
    assert ("scenarios.sqlite", "the bond") in _scan(list((data / "auditor").glob("scenarios*")))
