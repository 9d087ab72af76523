"""Equity settlement through real gateway processes, driven by the command line.

One consortium for the module: an embedded orderer and five member gateways (the
issuer ``acme``, the cash bank ``cashbank``, the operator ``csd``, ``founder-a`` and
``fund-x``), each ``riskshare gateway serve`` in its own process over mutual TLS. The
worked example of docs/SCENARIOS.md runs as written, each line on the gateway of the
member its ``-c`` names: a batch with one payment unallocated is refused whole and
moves nothing on any replica; once allocated, both trades settle in one ledger
transaction; every replica then holds the cap table the docs state, and the share
class's articles, hashed on the ledger, are in no other member's files.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway import GatewayError
from gateway._localnet import create_local_consortium
from ledger import Store
from scenarios import ScenarioError
from scenarios.equity import TRADES
from scenarios.kit import Holdings
from tests.scenarios._harness import Consortium, running

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = ["acme", "cashbank", "csd", "founder-a", "fund-x"]
ARTICLES = b"%PDF-1.7 ACME articles of association: pre-emption rights, clause 9.4(b)"
HOLD = Holdings("equity")


def worked_example() -> tuple[list[tuple[list[str], bool]], str]:
    """The ``sh`` lines (argv, whether refused) and the ``json`` batch of the section."""
    text = (ROOT / "docs" / "SCENARIOS.md").read_text(encoding="utf-8")
    section = text.split("## Equity settlement (`scenarios.equity`)", 1)[1]
    section = section.split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    batch = re.search(r"```json\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None and batch is not None
    today = datetime.now(UTC).date().isoformat()
    lines = []
    for line in block.group(1).replace("\\\n", " ").splitlines():
        if line.strip():
            argv = [today if a == "today" else a for a in shlex.split(line, comments=True)]
            lines.append((argv, "# refused" in line))
    return lines, batch.group(1)


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    root = tmp_path_factory.mktemp("equity")
    net = create_local_consortium(root, MEMBERS, params={"equity.cash_banks": ["cashbank"]})
    with running(net, Consortium) as found:
        yield found


def test_the_worked_example_through_the_gateways(
    consortium: Consortium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines, batch = worked_example()
    assert len(lines) == 21 and [refused for _, refused in lines].count(True) == 1
    monkeypatch.chdir(tmp_path)
    (tmp_path / "articles.pdf").write_bytes(ARTICLES)
    (tmp_path / "batch.json").write_text(batch)
    for argv, refused in lines[:-1]:
        if not refused:
            consortium.run_line("equity", argv)
            continue
        before = consortium.tables("equity")
        with pytest.raises(
            (GatewayError, ScenarioError),
            match=r"settle_instruction is not allowed when instruction 'T2~P' is PENDING",
        ):
            consortium.run_line("equity", argv)
        assert consortium.tables("equity") == before  # nothing moved, on any replica
    shown = consortium.run_line("equity", lines[-1][0])
    assert shown["id_supply"] == {"issued": 1_000_000, "live": 1_000_000, "burned": 0}

    consortium.tables("equity")
    for member in ["orderer", *MEMBERS]:
        path = consortium.net.member(member).data_dir / "ledger.sqlite"
        with Store(path, create=False) as store:
            state = store.state()
            assert [TRADES.load(state, t).state for t in ("T1", "T2")] == ["SETTLED"] * 2
            # Both trades settled in the same block, by the same transaction.
            events = [TRADES.events(state, t)[-1] for t in ("T1", "T2")]
            assert events[0].tx_id == events[1].tx_id
            assert HOLD.balance(state, "ACME-A", "fund-x") == 150_000
            assert HOLD.balance(state, "ACME-A", "founder-a") == 850_000
            assert HOLD.balance(state, "USD", "founder-a") == 380_000_00
            assert HOLD.balance(state, "USD", "fund-x") == 620_000_00

    # The articles stay with the issuer: their hash is on the ledger, their bytes in no
    # other member's files, no ledger and no log.
    data = consortium.root / "data"
    others = [p for m in [*MEMBERS[1:], "orderer"] for p in (data / m).rglob("*") if p.is_file()]
    others += [p for p in data.rglob("*") if p.is_file() and p.name.startswith("ledger.sqlite")]
    assert others
    for path in others:
        assert ARTICLES not in path.read_bytes(), path
