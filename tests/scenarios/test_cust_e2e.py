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

import functools
import json
from collections.abc import Iterator

import cbor2
import pytest

from gateway import GatewayError
from gateway._localnet import create_local_consortium
from scenarios import ScenarioError
from scenarios.cust._demo import RULES_V1, RULES_V2
from tests.scenarios._harness import Consortium, running, secrets_in

FIVE = ["entrustor", "manager", "custodian", "adviser", "auditor"]
MEMBERS = [*FIVE, "outsider"]
SECRETS: dict[bytes, str] = {
    b"FUND-Z9": "the product's id",
    b"ZETA-2029": "the bond",
    b"ZETACORP": "the issuer",
    b"12345678900": "the cash",
    cbor2.dumps(123_456_789_00): "the cash as CBOR",
}


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    net = create_local_consortium(tmp_path_factory.mktemp("cust"), MEMBERS)
    with running(net, Consortium, timeout=600) as found:
        yield found


def test_a_breach_is_refused_until_all_five_amend_the_rules(consortium: Consortium) -> None:
    run = functools.partial(consortium.cli, "cust")
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
    consortium.refused(
        "did not pass its check", "cust", "custodian", "accept", "FUND-Z9", "--instruction", "I-1"
    )
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


def test_non_parties_hold_no_private_field(consortium: Consortium) -> None:
    consortium.tables("cust")
    data = consortium.root / "data"
    shared = [*data.rglob("ledger.sqlite*"), *data.rglob("gateway.log*")]
    shared += [p for m in ("outsider", "orderer") for p in (data / m).rglob("*")]
    assert secrets_in(shared, SECRETS) == []
    held = secrets_in(list((data / "auditor").glob("scenarios*")), SECRETS)
    assert ("scenarios.sqlite", "the bond") in held
