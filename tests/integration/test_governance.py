"""Governance through the CLI: each command hands its transaction to the member's own
gateway, which signs it with its key and sequence numbers and submits it; the command
prints the block height or the ledger's reason for refusing it.

A new member is admitted by a proposal that executes only at approvals from more than
two thirds of the voting members (three of three here: two of three is not enough);
an offline-signed approval goes in with ``riskshare gateway submit``; a proposal is
withdrawn by its proposer only.
"""

from __future__ import annotations

import datetime as dt
import re

from gateway import GatewayError, enroll_member, load_ca
from ledger import proposal_status
from tests.integration.conftest import MEMBERS, Net


def _proposal(output: str) -> str:
    match = re.search(r"proposal id ([0-9a-f]{64})", output)
    assert match, output
    return match.group(1)


def test_a_member_is_admitted_by_more_than_two_thirds_through_the_cli(net: Net) -> None:
    ca = load_ca(net.consortium.root / "consortium" / "ca")
    record = enroll_member(
        ca,
        net.consortium.root / "members" / "bank-d",
        member_id="bank-d",
        name="Bank D",
        address="127.0.0.1:7999",
        now=dt.datetime.now(dt.UTC),
    )
    args = [
        "--arg", "id=bank-d", "--arg", "name=Bank D", "--arg", "role=member",
        "--arg", f"signing_key={record.signing_key.hex()}:hex",
        "--arg", f"tls_fingerprint={record.tls_fingerprint.hex()}:hex",
        "--arg", "address=127.0.0.1:7999",
    ]  # fmt: skip
    out = net.ok("governance", "propose", "admit", *args, "--config", net.config("bank-a"))
    assert "committed at height" in out and "approvals 1/3 of 3 voters" in out
    proposal = _proposal(out)

    out = net.ok("governance", "approve", proposal, "--config", net.config("bank-b"))
    assert "approvals 2/3" in out and " open " in out  # two of three is not > 2/3
    assert net.row("bank-b", "gov.members", "bank-d") is None

    # bank-c signs offline (its key file, no gateway) and hands the file over later.
    tx = net.consortium.root / "approve.tx"
    member_dir = net.consortium.member("bank-c").member_dir
    out = net.ok(
        "governance", "approve", proposal,
        "--key", str(member_dir / "signing.key"), "--member", "bank-c", "--out", str(tx),
        "--data-dir", str(net.data_dir("bank-c")),
    )  # fmt: skip
    assert "written to" in out and net.row("bank-c", "gov.members", "bank-d") is None
    out = net.ok("gateway", "submit", str(tx), "--config", net.config("bank-c"))
    height = int(re.search(r"committed at height (\d+)", out).group(1))  # type: ignore[union-attr]
    net.synced()
    for node in net.nodes.values():
        assert node.store.height >= height
        row = node.store.state().get("gov.members", "bank-d")
        assert isinstance(row, dict) and row["status"] == "active" and row["role"] == "member"
        status = proposal_status(node.store.state(), proposal, 0)
        assert status["status"] == "executed"
    out = net.ok("governance", "members", "--data-dir", str(net.data_dir("regulator")))
    assert re.search(r"bank-d\s+member\s+active", out), out


def test_withdraw_by_the_proposer_only_and_refusals_are_reported(net: Net) -> None:
    change = '{"set": {"credits.serve_cap": 9000}}'
    out = net.ok(
        "governance", "propose", "set_params", "--args-json", change,
        "--config", net.config("bank-b"),
    )  # fmt: skip
    proposal = _proposal(out)
    # Another member may not withdraw it: the ledger's reason comes back, exit code 2.
    refused = net.cli("governance", "withdraw", proposal, "--config", net.config("bank-c"))
    assert refused.exit_code != 0
    assert isinstance(refused.exception, GatewayError)
    assert "refused" in str(refused.exception) and "proposer" in str(refused.exception)
    out = net.ok("governance", "withdraw", proposal, "--config", net.config("bank-b"))
    assert "withdrawn" in out
    net.synced()
    for member_id in MEMBERS:
        state = net.nodes[member_id].store.state()
        assert proposal_status(state, proposal, 0)["status"] == "withdrawn"
    # The parameter never changed.
    assert net.row("bank-a", "gov.params", "credits.serve_cap") != 9000


def test_the_cli_says_how_to_submit(net: Net) -> None:
    result = net.cli("governance", "approve", "00" * 32)
    assert result.exit_code == 2 and "--config" in result.output
