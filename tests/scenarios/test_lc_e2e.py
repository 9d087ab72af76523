"""A letter of credit through real gateway processes, driven by the command line.

One consortium for the module: an embedded orderer and five member gateways (the
applicant, the beneficiary, the issuing and advising banks, and the fingerprint
registry, which is no party to the credit), each ``riskshare gateway serve`` in its own
process over mutual TLS. The credit is drafted, agreed, issued, advised and made
operative; documents are presented whose quantity is outside the tolerance; the issuing
bank registers the set on the financing registry (``riskshare tf register``), examines
it (the quantity discrepancy is found), notifies; the applicant waives; the bank
accepts, releases and pays; a second payment is refused and changes nothing on any
replica. No ledger, no gateway log and no file of the registry or the orderer holds
the credit's id, amount, goods or ports, while a control finds them where a party
keeps them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
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
from tests.privacy._scan import sqlite_rows

MEMBERS = ["bohi", "dreyfus", "ing", "socgen", "registry"]
SECRETS: dict[bytes, str] = {
    b"LC-7Q": "the credit's id",
    b"3012345678": "the amount",
    b"30,123,456.78": "the amount as typed",
    cbor2.dumps(30_123_456_78): "the amount as CBOR",
    b"soybeans": "the goods",
    b"Qingdao": "the port of discharge",
}
DOCS = ("invoice", "bill_of_lading", "certificate_of_origin", "phytosanitary", "inspection")


@dataclass
class Consortium:
    net: LocalConsortium
    gateways: dict[str, GatewayProcess]
    root: Path

    def run(self, scenario: str, member: str, *args: str) -> Any:
        group = scenario_group(get_scenario(scenario))
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
        tables = sorted(get_scenario("lc").contract.tables)
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
    root = tmp_path_factory.mktemp("lc")
    net = create_local_consortium(root, MEMBERS, params={"fpreg.registry": "registry"})
    gateways = start_gateways(net, timeout=600)
    try:
        found = Consortium(net, gateways, root)
        found.run("tf", "registry", "registry-init")
        yield found
    finally:
        # A generous grace: on a loaded machine a gateway may take a while to drain.
        codes = stop_gateways(gateways, timeout=120)
        assert all(code == 0 for code in codes.values()), codes


def _day(offset: int) -> str:
    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=offset)).isoformat()


def test_a_discrepant_presentation_is_waived_and_paid(consortium: Consortium) -> None:
    lc = consortium.run
    terms = {
        "amount": "30,123,456.78", "currency": "USD", "tolerance": "5%",
        "goods": "US soybeans", "quantity": 60_000, "quantity_tolerance": "5%",
        "port_loading": "New Orleans", "port_discharge": "Qingdao",
        "latest_shipment": _day(5), "expiry": _day(60), "presentation_days": 21,
        "required": list(DOCS), "weekend": [5, 6], "holidays": [],
    }  # fmt: skip
    lc("lc", "bohi", "draft", "LC-7Q", "--beneficiary", "dreyfus", "--issuing", "ing",
       "--advising", "socgen", "--set", f"terms={json.dumps(terms)}")  # fmt: skip
    lc("lc", "dreyfus", "agree", "LC-7Q")
    lc("lc", "ing", "issue", "LC-7Q")
    lc("lc", "socgen", "advise", "LC-7Q")
    assert lc("lc", "ing", "operate", "LC-7Q", "--json")["object"]["state"] == "OPERATIVE"
    files = []
    for kind in DOCS:
        path = consortium.root / f"{kind}.pdf"
        path.write_bytes(f"%PDF the {kind}, kept behind the parties' gateways".encode())
        files.append(path)
    docs: list[dict[str, Any]] = []
    for kind, path in zip(DOCS, files, strict=True):
        doc: dict[str, Any] = {"type": kind, "hash": hashlib.sha256(path.read_bytes()).hexdigest()}
        if kind == "invoice":
            doc |= {"amount": 31_000_000_00, "seller": "dreyfus", "buyer": "bohi"}
        if kind == "bill_of_lading":
            doc |= {"quantity": 63_500, "shipped_on": _day(0), "goods": "US soybeans"}
        docs.append(doc)
    lc("lc", "dreyfus", "present", "LC-7Q", "--presentation", "P-1",
       "--set", f"docs={json.dumps(docs)}")  # fmt: skip
    lc("tf", "ing", "register", "ING-P1", "--seller", "dreyfus", "--buyer", "bohi",
       "--invoice-number", "LDC-2018-001", "--invoice-date", _day(0), "--amount",
       "31,000,000.00", "--currency", "USD", "--expires", _day(30), "--bl", "MEDU:BL-1",
       *(x for path in files for x in ("--doc", str(path))))  # fmt: skip
    examined = lc("lc", "ing", "examine", "LC-7Q", "--presentation", "P-1",
                  "--registration", "ING-P1", "--json")  # fmt: skip
    assert examined["object"]["attrs"]["presentations"]["P-1"]["discrepancies"] == [
        "quantity: 63500 against 60000 ± 5 %"
    ]
    for member, step in (("ing", "notify-discrepancies"), ("bohi", "waive"),
                         ("ing", "accept-presentation"), ("ing", "release-docs")):  # fmt: skip
        lc("lc", member, step, "LC-7Q", "--presentation", "P-1")
    paid = lc("lc", "ing", "pay", "LC-7Q", "--presentation", "P-1", "--json")["object"]
    assert (paid["state"], paid["attrs"]["presentations"]["P-1"]["paid"]) == (
        "FULLY_DRAWN",
        31_000_000_00,
    )
    before = consortium.tables()
    with pytest.raises((GatewayError, ScenarioError), match="pay is not allowed when credit"):
        lc("lc", "ing", "pay", "LC-7Q", "--presentation", "P-1")
    assert consortium.tables() == before
    with pytest.raises((GatewayError, ScenarioError), match="holds no confidential"):
        lc("lc", "registry", "show", "LC-7Q")


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
    shared += [p for m in ("registry", "orderer") for p in (data / m).rglob("*")]
    assert _scan(shared) == []
    own = list((data / "bohi").glob("scenarios.sqlite*"))
    assert ("scenarios.sqlite", "the goods") in _scan(own)
