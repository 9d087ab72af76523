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

import json
import re
import shlex
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import cbor2
import pytest
from typer.testing import CliRunner

from cli._scenario import scenario_group
from gateway import GatewayError
from gateway._localnet import LocalConsortium, create_local_consortium
from gateway._processes import GatewayProcess, start_gateways, stop_gateways
from gateway._registry import consortium_registry
from ledger import Store, verify_chain
from scenarios import ScenarioError, get_scenario
from scenarios.kit import private_rows
from scenarios.syndicate import Independent
from tests.privacy._scan import sqlite_rows

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


@dataclass
class Book:
    net: LocalConsortium
    gateways: dict[str, GatewayProcess]
    root: Path

    def cli(self, member: str, *args: str) -> Any:
        group = scenario_group(get_scenario("syndicate"))
        config = str(self.net.member(member).config_path)
        result = CliRunner().invoke(group, [*args, "--config", config])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == 0, result.output
        try:
            return json.loads(result.output)
        except ValueError:
            return result.output

    def run_line(self, argv: list[str]) -> Any:
        assert argv[:2] == ["riskshare", "syndicate"], argv
        args = argv[2:]
        at = args.index("-c")
        member = args[at + 1].removesuffix(".toml")
        return self.cli(member, *args[:at], *args[at + 2 :])

    def store(self, member: str) -> Store:
        return Store(self.net.member(member).data_dir / "ledger.sqlite", create=False)

    def settled(self) -> int:
        deadline = time.monotonic() + 60
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


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Book]:
    root = tmp_path_factory.mktemp("syndicate")
    net = create_local_consortium(root, MEMBERS)
    gateways = start_gateways(net)
    try:
        yield Book(net, gateways, root)
    finally:
        # Generous: under load a process may take a while to drain and exit cleanly.
        codes = stop_gateways(gateways, timeout=120)
        assert all(code == 0 for code in codes.values()), codes


def _haystacks(paths: Iterable[Path]) -> Iterator[tuple[str, bytes]]:
    for path in sorted(set(paths)):
        if not path.is_file():
            continue
        yield str(path), path.read_bytes()
        if path.suffix == ".sqlite":
            yield from ((f"{path}:{where}", blob) for where, blob in sqlite_rows(path))


def _scan(places: Iterable[Path]) -> list[tuple[str, str]]:
    found, scanned = [], 0
    for where, blob in _haystacks(places):
        scanned += 1
        found += [
            (Path(where.partition(":")[0]).name, what) for s, what in SECRETS.items() if s in blob
        ]
    assert scanned > 0
    return found


def test_the_worked_example_through_the_gateways(book: Book) -> None:
    lines = worked_example()
    assert len(lines) == 28
    for argv in lines[:-1]:
        book.run_line(argv)
    shown = book.run_line(lines[-1])
    x = Independent(date(2025, 6, 30))
    for member in PARTIES:
        held = shown if member == "bank-c" else book.cli(member, "show", "SYN-1")
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
            "bank-c", "set-rate", "SYN-1", "--loan", "L1", "--end", "2025-09-30", "--base", "3%"
        )
    with pytest.raises((GatewayError, ScenarioError), match="shares_whole"):
        book.cli(
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
        assert book.cli(member, "show", "SYN-1")["version"] == version

    # The outsider holds nothing: not the object, not a private field anywhere it keeps
    # files, on any ledger or in any gateway's log; and its replica verifies the chain.
    with pytest.raises(GatewayError, match="holds no confidential syndicate object"):
        book.cli("bank-x", "show", "SYN-1")
    data = book.root / "data"
    shared = [*data.rglob("ledger.sqlite*"), *data.rglob("gateway.log*")]
    shared += [p for m in ("bank-x", "orderer") for p in (data / m).rglob("*")]
    assert _scan(shared) == []
    assert ("scenarios.sqlite", "the covenant's name") in _scan(
        (data / "bank-d").glob("scenarios.sqlite*")
    )
    height = book.settled()
    with book.store("bank-x") as store:
        assert verify_chain(store, consortium_registry()).height == height
        (row,) = private_rows(store.state(), "syndicate")
        assert row.version == version and row.party.members == tuple(sorted(PARTIES))
