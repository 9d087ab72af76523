"""A local consortium of real gateway processes for the scenario end-to-end tests, driven
by the generated command line.

Every end-to-end test drives its scenario the way an operator does (``riskshare
<scenario> ... --config <member>.toml``), reads the replicas' ledgers to check that a
refused step changed nothing anywhere, and stops every gateway cleanly at the end. One
harness keeps those the same for every scenario.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner

from cli._scenario import scenario_group
from gateway import GatewayError
from gateway._localnet import ORDERER, LocalConsortium
from gateway._processes import GatewayProcess, start_gateways, stop_gateways
from ledger import Store
from scenarios import ScenarioError, get_scenario
from tests.privacy._scan import sqlite_rows


def invoke(command: Any, config: Path, *args: str) -> Any:
    """``<command> <args> --config <config>``, as a member's operator runs it: its JSON
    when it prints JSON, else its text. A refused step raises the domain error that the
    CLI's error boundary prints as one line with exit code 2."""
    result = CliRunner().invoke(command, [*args, "--config", str(config)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    try:
        return json.loads(result.output)
    except ValueError:
        return result.output


@dataclass
class Consortium:
    net: LocalConsortium
    gateways: dict[str, GatewayProcess]
    root: Path

    @property
    def replicas(self) -> list[str]:
        """Everyone holding a ledger: the orderer and every member."""
        return [ORDERER, *self.net.members]

    def config(self, member: str) -> Path:
        return self.net.member(member).config_path

    def cli(self, scenario: str, member: str, *args: str) -> Any:
        """``riskshare <scenario> <args> --config <member>.toml``: JSON when it prints
        JSON; a refusal raises the domain error the CLI would print (exit 2)."""
        return invoke(scenario_group(get_scenario(scenario)), self.config(member), *args)

    def run_line(self, scenario: str, argv: list[str]) -> Any:
        """A documented command line, ``riskshare <scenario> ... -c <member>.toml``."""
        assert argv[:2] == ["riskshare", scenario], argv
        args = argv[2:]
        at = args.index("-c")
        member = args[at + 1].removesuffix(".toml")
        return self.cli(scenario, member, *args[:at], *args[at + 2 :])

    def store(self, member: str) -> Store:
        return Store(self.net.member(member).data_dir / "ledger.sqlite", create=False)

    def settled(self, timeout: float = 60) -> int:
        """The height every replica holds, once they all hold the same head."""
        deadline = time.monotonic() + timeout
        while True:
            heads = set()
            for member in self.replicas:
                with self.store(member) as store:
                    head = store.head()
                    heads.add(None if head is None else (head.height, head.hash))
            if len(heads) == 1:
                (only,) = heads
                assert only is not None
                return only[0]
            assert time.monotonic() < deadline, heads
            time.sleep(0.1)

    def tables(self, scenario: str) -> list[dict[str, list[Any]]]:
        """Every table of ``scenario`` on every replica, once all replicas hold the same
        head (read with it, so a block landing in between cannot tell them apart); the
        same head must mean the same tables."""
        deadline = time.monotonic() + 60
        tables = sorted(get_scenario(scenario).contract.tables)
        while True:
            heads, out = set(), []
            for member in self.replicas:
                with self.store(member) as store:
                    head = store.head()
                    heads.add(None if head is None else head.hash)
                    state = store.state()
                    out.append({t: list(state.scan(t)) for t in tables})
            if len(heads) == 1:
                assert all(t == out[0] for t in out)
                return out
            assert time.monotonic() < deadline, heads
            time.sleep(0.1)

    def refused(self, match: str, scenario: str, member: str, *args: str) -> None:
        """A command that must be refused, with nothing changed on any replica."""
        before = self.tables(scenario)
        with pytest.raises((GatewayError, ScenarioError), match=match):
            self.cli(scenario, member, *args)
        assert self.tables(scenario) == before


C = TypeVar("C", bound=Consortium)


@contextmanager
def running(net: LocalConsortium, kind: type[C], **start: Any) -> Iterator[C]:
    """Every gateway of ``net`` started (``start`` as for ``start_gateways``) as a
    ``kind`` of :class:`Consortium`, and stopped cleanly, each exiting 0, however the
    tests end."""
    gateways = start_gateways(net, **start)
    try:
        yield kind(net, gateways, net.root)
    finally:
        # A generous grace: on a loaded machine a gateway may take a while to drain.
        codes: Mapping[str, int] = stop_gateways(gateways, timeout=120)
        assert all(code == 0 for code in codes.values()), codes


def secrets_in(paths: Iterable[Path], secrets: Mapping[bytes, str]) -> list[tuple[str, str]]:
    """Which of ``secrets`` each file holds (a SQLite file row by row, too), as (file
    name, what the secret is); at least one of ``paths`` must be a file."""
    found, scanned = [], 0
    for path in sorted(set(paths)):
        if not path.is_file():
            continue
        blobs = [path.read_bytes()]
        if path.suffix == ".sqlite":
            blobs += [blob for _, blob in sqlite_rows(path)]
        scanned += 1
        found += [(path.name, what) for s, what in secrets.items() if any(s in b for b in blobs)]
    assert scanned > 0
    return found
