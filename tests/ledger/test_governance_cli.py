"""``riskshare governance``: read proposals and members, sign governance transactions."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli import app
from gateway import write_private_key
from ledger import EmbeddedOrderer, decode_transaction, get_member

from .helpers import T0, key_for, make_net


def test_propose_approve_list_show_members(tmp_path: Path) -> None:
    net = make_net(("m1", "m2", "m3"))
    store = net.store(tmp_path / "ledger.sqlite")
    orderer = EmbeddedOrderer(
        store, net.registry, member="m1", key=key_for("m1"), clock=lambda: T0, block_interval=3600
    )
    keys = {}
    for m in ("m1", "m2", "m3"):
        keys[m] = tmp_path / f"{m}.key"
        write_private_key(keys[m], key_for(m))
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path)]

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, *data])
        assert result.exit_code == 0, result.output
        return result.output

    def submit(path: Path) -> None:
        raw = path.read_bytes()
        stx = decode_transaction(raw)
        # The CLI signs with the member's clock; the test orderer runs at T0.
        orderer._clock = lambda: stx.tx.time
        answer = orderer.submit(raw)
        assert answer.accepted, answer.reason
        orderer.cut()

    out = run(
        "governance",
        "propose",
        "rotate",
        "--arg",
        "id=m3",
        "--arg",
        "address=10.0.0.3:7443",
        "--key",
        str(keys["m2"]),
        "--member",
        "m2",
        "--out",
        str(tmp_path / "p.tx"),
    )
    # Offline signing (--out) names the file and the transaction, then the proposal id,
    # which is the transaction id of the file it wrote.
    written, proposed = out.splitlines()
    proposal = proposed.removeprefix("proposal id ")
    assert written == f"proposal written to {tmp_path / 'p.tx'} (transaction {proposal})"
    assert decode_transaction((tmp_path / "p.tx").read_bytes()).tx_id.hex() == proposal
    submit(tmp_path / "p.tx")
    listed = run("governance", "list", "--status", "open")
    assert proposal[:16] in listed and "approvals 1/3 of 3 voters" in listed
    run(
        "governance",
        "approve",
        proposal,
        "--key",
        str(keys["m1"]),
        "--member",
        "m1",
        "--out",
        str(tmp_path / "a1.tx"),
    )
    submit(tmp_path / "a1.tx")
    assert "approvals 2/3" in run("governance", "show", proposal)
    run(
        "governance",
        "approve",
        proposal,
        "--key",
        str(keys["m3"]),
        "--member",
        "m3",
        "--out",
        str(tmp_path / "a3.tx"),
    )
    submit(tmp_path / "a3.tx")
    assert "executed" in run("governance", "show", proposal)
    assert get_member(store.state(), "m3").address == "10.0.0.3:7443"  # type: ignore[union-attr]
    assert "10.0.0.3:7443" in run("governance", "members")
    assert '"status": "executed"' in run("governance", "show", proposal, "--json")
    for command in ("list", "show", "members", "propose", "approve", "withdraw"):
        result = runner.invoke(app, ["governance", command, "--help"])
        assert "Example:" in result.output, command
