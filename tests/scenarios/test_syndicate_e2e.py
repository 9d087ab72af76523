"""Syndicated loans through real gateway processes, driven by the command line.

One consortium for the module: an embedded orderer and seven member gateways (the
agent ``bank-a`` and four more lenders, the borrower ``acme``, and ``bank-x``, a
member outside the syndicate), each ``riskshare gateway serve`` in its own process
over mutual TLS. The worked example of docs/SCENARIOS.md runs as written, each line
through the generated ``riskshare syndicate`` group on the gateway of the member its
``-c`` names; then every party's copy of the book must hold the figures the
independent computation gives, the outsider must hold nothing of it — no ledger, no
gateway log and no file of the outsider or the orderer holds a private field, in any
form scanned, while a control finds one in a party's store — and the outsider's
replica verifies the whole chain without it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import cbor2
import pytest

from gateway import GatewayError
from gateway._localnet import create_local_consortium
from gateway._registry import consortium_registry
from ledger import verify_chain
from scenarios import ScenarioError
from scenarios.kit import private_rows
from scenarios.syndicate import Independent
from tests.scenarios._harness import Consortium, running, secrets_in

ROOT = Path(__file__).resolve().parents[2]
LENDERS = ["bank-a", "bank-b", "bank-c", "bank-d", "bank-e"]
PARTIES = [*LENDERS, "acme"]
MEMBERS = [*PARTIES, "bank-x"]
SECRETS = {
    b"SYN-1": "the facility's id",
    b"max_leverage": "the covenant's name",
    b"3000000007": "the amount in minor units",
    b"30,000,000.07": "the amount as typed",
    cbor2.dumps(30_000_000_07): "the amount as CBOR",
    cbor2.dumps(356_250_00): "period 1's interest as CBOR",
    b"35625000": "period 1's interest",
    cbor2.dumps(162_562_50): "bank-b's interest as CBOR",
}


def worked_example() -> list[list[str]]:
    """The ``sh`` block of docs/SCENARIOS.md's syndicated loans section, as argv lists."""
    text = (ROOT / "docs" / "SCENARIOS.md").read_text(encoding="utf-8")
    section = text.split("## Syndicated loans (`scenarios.syndicate`)", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None
    joined = block.group(1).replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    net = create_local_consortium(tmp_path_factory.mktemp("syndicate"), MEMBERS)
    with running(net, Consortium) as found:
        yield found


def test_the_worked_example_through_the_gateways(book: Consortium) -> None:
    lines = worked_example()
    assert len(lines) == 28
    for argv in lines[:-1]:
        book.run_line("syndicate", argv)
    shown = book.run_line("syndicate", lines[-1])
    x = Independent(date(2025, 6, 30))
    for member in PARTIES:
        held = shown if member == "bank-c" else book.cli("syndicate", member, "show", "SYN-1")
        attrs = held["attrs"]
        assert held["confidential"]["held_version"] == held["confidential"]["ledger_version"]
        assert attrs["amendments"]["AM-1"]["status"] == "REJECTED", member
        for lender in LENDERS:
            assert attrs["paid"][lender]["interest"] == x.interest(lender), (member, lender)
            assert attrs["shares"][lender] == x.shares[lender]
            assert attrs["loans"]["L1"]["notices"][lender] == x.notices[lender]
            assert attrs["loans"]["L1"]["funded"][lender] == x.funded[lender]
    assert shown["attrs"]["paid"]["bank-b"]["interest"] == 162_562_50  # as the docs say

    # Bad input through the gateways: refused precisely, and every copy unchanged.
    version = shown["version"]
    with pytest.raises((GatewayError, ScenarioError), match="only the agent"):
        book.cli(
            "syndicate",
            "bank-c",
            "set-rate",
            "SYN-1",
            "--loan",
            "L1",
            "--end",
            "2025-09-30",
            "--base",
            "3%",
        )
    with pytest.raises((GatewayError, ScenarioError), match="shares_whole"):
        book.cli(
            "syndicate",
            "bank-a",
            "sign",
            "SYN-2",
            "--borrower",
            "acme",
            "--shares",
            "bank-a:600000;bank-b:300000",
            "--commitment",
            "1.00",
            "--maturity",
            "2028-01-01",
            "--daycount",
            "ACT/360",
            "--margin",
            "1%",
            "--borrower-consent",
            "false",
        )
    for member in PARTIES:
        assert book.cli("syndicate", member, "show", "SYN-1")["version"] == version

    # The outsider holds nothing: not the object, not a private field anywhere it keeps
    # files, on any ledger or in any gateway's log; and its replica verifies the chain.
    with pytest.raises(GatewayError, match="holds no confidential syndicate object"):
        book.cli("syndicate", "bank-x", "show", "SYN-1")
    data = book.root / "data"
    shared = [*data.rglob("ledger.sqlite*"), *data.rglob("gateway.log*")]
    shared += [p for m in ("bank-x", "orderer") for p in (data / m).rglob("*")]
    assert secrets_in(shared, SECRETS) == []
    assert ("scenarios.sqlite", "the covenant's name") in secrets_in(
        (data / "bank-d").glob("scenarios.sqlite*"), SECRETS
    )
    height = book.settled()
    with book.store("bank-x") as store:
        assert verify_chain(store, consortium_registry()).height == height
        (row,) = private_rows(store.state(), "syndicate")
        assert row.version == version and row.party.members == tuple(sorted(PARTIES))
