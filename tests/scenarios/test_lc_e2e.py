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
from collections.abc import Iterator
from typing import Any

import cbor2
import pytest

from gateway import GatewayError
from gateway._localnet import create_local_consortium
from scenarios import ScenarioError
from tests.scenarios._harness import Consortium, running, secrets_in

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


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    root = tmp_path_factory.mktemp("lc")
    net = create_local_consortium(root, MEMBERS, params={"fpreg.registry": "registry"})
    with running(net, Consortium, timeout=600) as found:
        found.cli("tf", "registry", "registry-init")
        yield found


def _day(offset: int) -> str:
    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=offset)).isoformat()


def test_a_discrepant_presentation_is_waived_and_paid(consortium: Consortium) -> None:
    lc = consortium.cli
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
    consortium.refused(
        "pay is not allowed when credit", "lc", "ing", "pay", "LC-7Q", "--presentation", "P-1"
    )
    with pytest.raises((GatewayError, ScenarioError), match="holds no confidential"):
        lc("lc", "registry", "show", "LC-7Q")


def test_non_parties_hold_no_private_field(consortium: Consortium) -> None:
    consortium.tables("lc")
    data = consortium.root / "data"
    shared = [*data.rglob("ledger.sqlite*"), *data.rglob("gateway.log*")]
    shared += [p for m in ("registry", "orderer") for p in (data / m).rglob("*")]
    assert secrets_in(shared, SECRETS) == []
    own = list((data / "bohi").glob("scenarios.sqlite*"))
    assert ("scenarios.sqlite", "the goods") in secrets_in(own, SECRETS)
