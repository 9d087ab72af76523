"""Insurance through real gateway processes, driven by the command line.

One consortium for the module: an embedded orderer and five member gateways (two
insurers, a broker, a reinsurer, and the fingerprint registry, which is also the
oracle), each ``riskshare gateway serve`` in its own process over mutual TLS. Every
step is a generated ``riskshare ins ...`` command; the screening is ``riskshare
query``. Shown:

- a policy is sold after a real screening (its receipt on the ledger) and a claim on it
  is paid at the cap, after its loss was registered on the claim registry (fingerprints
  the registry evaluated and metered) and the other insurer's registration of the same
  crash — typed differently — was flagged, refused payment (nothing changed on any
  replica) and withdrawn by both insurers resolving the alert;
- a reinsurance layer is drafted, quoted, ordered, signed and bound between the cedent,
  the broker and the reinsurer;
- no ledger, no gateway log and no file of the other insurer, the registry or the
  orderer holds the VIN (in any form the privacy scanner knows), the policy's or the
  treaty's figures or references, while a control finds them where a party keeps them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import time
from collections.abc import Iterator

import cbor2
import pytest
from typer.testing import CliRunner

from cli._main import app
from gateway import GatewayError
from gateway._demo import wait_published
from gateway._localnet import create_local_consortium, load_list
from scenarios import ScenarioError
from scenarios.kit import Loss
from tests.scenarios._harness import Consortium, running, secrets_in
from token_incentive import recorded_receipt

MEMBERS = ["insurer-a", "insurer-b", "broker", "re-1", "registry"]
VIN = "1HGCM82633A004352"
# Figures and references distinctive enough that finding one is finding it.
SECRETS: dict[bytes, str] = {
    b"POL-7Q3Z": "the policy's id",
    b"2001739": "the policy's limit",
    b"20,017.39": "the policy's limit as typed",
    cbor2.dumps(20_017_39): "the policy's limit as CBOR",
    b"3133777": "the sum insured",
    cbor2.dumps(31_337_77): "the sum insured as CBOR",
    b"TREATY-XK42": "the treaty's reference",
    b"987654321": "the layer's limit",
    cbor2.dumps(9_876_543_21): "the layer's limit as CBOR",
    b"LAYER-9Q": "the layer's id",
}


class Insurers(Consortium):
    def screen(self, member: str, phone: str) -> tuple[str, bool]:
        args = ["query", phone, "--id-type", "phone", "--list", "transaction_fraud", "--json"]
        result = CliRunner().invoke(app, [*args, "--config", str(self.config(member))])
        assert result.exit_code in (0, 1), result.output  # 1: nobody lists it
        answer = json.loads(result.output)
        receipt = answer["answers"][0]["receipts"][0]
        deadline = time.monotonic() + 120
        while True:
            with self.store(member) as store:
                if recorded_receipt(store.state(), receipt) is not None:
                    return receipt, bool(answer["hits"])
            assert time.monotonic() < deadline, "the screening receipt was never recorded"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Insurers]:
    root = tmp_path_factory.mktemp("ins")
    params = {"fpreg.registry": "registry", "ins.oracle": "registry"}
    net = create_local_consortium(root, MEMBERS, params=params)
    # Reciprocity: a member asks only if it publishes the list type itself.
    for member, phone in (("insurer-a", "13900000003"), ("insurer-b", "13900000002")):
        load_list(net.members[member], [("transaction_fraud", "phone", phone, 1)])
    with running(net, Insurers, timeout=600) as found:
        wait_published(net, ["insurer-a", "insurer-b"])
        found.cli("ins", "registry", "registry-init")
        yield found


def _day(offset: int) -> str:
    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=offset)).isoformat()


def test_a_claim_is_registered_flagged_resolved_and_paid(consortium: Insurers) -> None:
    run = functools.partial(consortium.cli, "ins")
    holder = consortium.root / "holder.pdf"
    holder.write_bytes(b"%PDF the policyholder's file, kept behind insurer-a's gateway")
    receipt, hit = consortium.screen("insurer-a", "13900000001")
    assert not hit
    terms = [
        "--product", "indemnity", "--coverage", "collision", "--currency", "USD",
        "--limit", "20,017.39", "--deductible", "500.00", "--sum-insured", "31,337.77",
        "--premium", "800.00", "--cover-from", _day(-30), "--cover-to", _day(300),
        "--holder-file", str(holder),
    ]  # fmt: skip
    run("insurer-a", "quote", "POL-7Q3Z", *terms)
    checked = run("insurer-a", "check", "POL-7Q3Z", "--receipt", receipt, "--result", "clear",
                  "--json")  # fmt: skip
    assert checked["object"]["state"] == "CHECKED"
    run("insurer-a", "issue", "POL-7Q3Z")
    loss_day = _day(-3)
    run("insurer-a", "fnol", "POL-7Q3Z", "--claim", "C-A1", "--loss-date", loss_day,
        "--claimed", "25,000.00")  # fmt: skip
    first = run("insurer-a", "register", "C-A1", "--object", "vin", "--object-id", VIN,
                "--loss-date", loss_day, "--loss-type", "collision", "--json")  # fmt: skip
    assert first["object"]["state"] == "REGISTERED"
    again = run("insurer-b", "register", "C-B1", "--object", "VIN", "--object-id",
                "1hgcm8-2633a0 04352", "--loss-date", loss_day, "--loss-type", "Collision",
                "--json")  # fmt: skip
    assert again["object"]["state"] == "DUPLICATE_FLAGGED"
    alerts = run("insurer-b", "alerts", "--open")
    assert [(a["alert"], a["match"], a["first"], a["second"]) for a in alerts] == [
        ("C-B1~C-A1", "exact", "insurer-a", "insurer-b")
    ]
    consortium.refused("DUPLICATE_FLAGGED", "ins", "insurer-b", "mark-paid", "C-B1")
    run("insurer-a", "authorize", "resolve", "C-B1~C-A1", "--outcome", "withdraw")
    resolved = run("insurer-b", "resolve", "C-B1~C-A1", "--outcome", "withdraw", "--json")
    assert resolved["object"]["state"] == "WITHDRAWN"
    run("insurer-a", "assess", "POL-7Q3Z", "--claim", "C-A1", "--amount", "24,000.00")
    consortium.refused(
        r"min\(limit − deductible, sum insured − paid\) = 1951739", "ins",
        "insurer-a", "approve-claim", "POL-7Q3Z", "--claim", "C-A1", "--amount", "19,517.40",
    )  # fmt: skip
    run("insurer-a", "approve-claim", "POL-7Q3Z", "--claim", "C-A1", "--amount", "19,517.39")
    consortium.refused("it must be PAID there first", "ins", "insurer-a", "pay", "POL-7Q3Z",
                       "--claim", "C-A1")  # fmt: skip
    run("insurer-a", "mark-paid", "C-A1")
    run("insurer-a", "pay", "POL-7Q3Z", "--claim", "C-A1")
    policy = run("insurer-a", "show", "POL-7Q3Z")
    assert policy["attrs"]["claims"]["C-A1"]["paid"] == 19_517_39  # min(24,000, 20,017.39 − 500)
    with pytest.raises((GatewayError, ScenarioError), match="holds no confidential"):
        run("insurer-b", "show", "POL-7Q3Z")


def test_a_layer_is_bound_between_its_parties(consortium: Insurers) -> None:
    run = functools.partial(consortium.cli, "ins")
    run("broker", "draft-layer", "LAYER-9Q", "--cedent", "insurer-a", "--reinsurers", "re-1",
        "--treaty", "TREATY-XK42", "--layer", "1", "--currency", "USD",
        "--limit", "9,876,543.21", "--attachment", "5,000,000.00",
        "--period-from", _day(0), "--period-to", _day(364))  # fmt: skip
    run("insurer-a", "submit-layer", "LAYER-9Q")
    run("re-1", "quote-layer", "LAYER-9Q", "--rate", "12.5%", "--capacity", "100%")
    plan = [{"due": _day(90), "amount": 600_000_00}, {"due": _day(180), "amount": 650_000_00}]
    consortium.refused(
        "instalments_sum_to_premium", "ins", "insurer-a", "firm-order", "LAYER-9Q",
        "--order", "100%",
        "--premium", "1,250,000.01", "--set", f"instalments={json.dumps(plan)}",
    )  # fmt: skip
    run("insurer-a", "firm-order", "LAYER-9Q", "--order", "100%", "--premium", "1,250,000.00",
        "--set", f"instalments={json.dumps(plan)}")  # fmt: skip
    run("re-1", "sign-line", "LAYER-9Q", "--line", "60%")
    consortium.refused("lines_sum_to_order", "ins", "broker", "bind", "LAYER-9Q")
    with pytest.raises((GatewayError, ScenarioError), match="signed its line already"):
        run("re-1", "sign-line", "LAYER-9Q", "--line", "40%")
    bound = run("re-1", "show", "LAYER-9Q")
    assert (bound["state"], bound["attrs"]["lines"]) == ("FIRM_ORDER", {"re-1": 600_000})


def test_non_parties_hold_no_private_field(consortium: Insurers) -> None:
    # After both flows (module order): every ledger, every log, and every file of the
    # other insurer, the registry (which evaluated the VIN's fingerprints blind) and the
    # orderer.
    consortium.tables("ins")
    data = consortium.root / "data"
    shared = [*data.rglob("ledger.sqlite*"), *data.rglob("gateway.log*")]
    shared += [p for m in ("insurer-b", "registry", "orderer") for p in (data / m).rglob("*")]
    vin = Loss("vin", VIN, "2025-01-01", "collision").normalised().object_id
    secrets = SECRETS | {VIN.encode(): "the VIN", vin.lower().encode(): "the VIN, lower-case"}
    assert secrets_in(shared, secrets) == []
    # Control: the same scan finds them where the parties keep them.
    own = list((data / "insurer-a").glob("scenarios.sqlite*"))
    assert ("scenarios.sqlite", "the policy's limit as CBOR") in secrets_in(own, SECRETS)
    theirs = list((data / "re-1").glob("scenarios.sqlite*"))
    assert ("scenarios.sqlite", "the treaty's reference") in secrets_in(theirs, SECRETS)
