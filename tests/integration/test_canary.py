"""An observer's canaries, end to end through the CLI and the gateways.

The regulator commits to a canary identifier (``riskshare canary commit``); bank-b, an
indiscriminate lister, has picked it up. The regulator's gateway may call
``EvaluateBatch`` only with canary probes: a screening query from it is refused by the
responder and leaves no receipt. ``riskshare canary probe --reveal`` asks every
publisher, finds bank-b listing the canary, and reveals it with the probe's receipt,
which files a canary dispute against bank-b on every replica; nobody was charged.
"""

from __future__ import annotations

import json
from typing import Any

from gateway._localnet import load_list
from tests.integration.conftest import CANARY, LISTS, LT, MEMBERS, Net, wait
from token_incentive import balance_of, dispute_of


def test_probe_finds_the_indiscriminate_lister_and_the_reveal_files_a_dispute(net: Net) -> None:
    regulator = net.config("regulator")
    secrets = net.consortium.root / "canaries.jsonl"
    out = net.ok(
        "canary", "commit", "--secrets", str(secrets), "--list", LT, "--id-type", "phone",
        "--config", regulator, input=f"{CANARY}\n16698765432\n",
    )  # fmt: skip
    assert "2 canary commitment(s) committed at height" in out
    assert secrets.stat().st_mode & 0o777 == 0o600
    lines = [json.loads(line) for line in secrets.read_text().splitlines()]
    assert [line["value"] for line in lines] == [CANARY, "16698765432"]
    net.synced()
    for line in lines:  # committed, and nothing identifying on the ledger
        row = net.row("bank-b", "credits.canaries", line["commitment"])
        assert row["status"] == "committed" and CANARY not in repr(row)

    # A screening query from an observer is refused by the responder: no receipt.
    refused = net.cli(
        "query", CANARY, "--purpose", "screening", "--member", "bank-b", "--json",
        "--config", regulator,
    )  # fmt: skip
    assert refused.exit_code == 2
    (answer,) = json.loads(refused.output)["answers"]
    assert answer["errors"][0]["code"] == "PERMISSION_DENIED"
    assert net.nodes["bank-b"].local.counts().get("pending", 0) == 0
    assert not _receipts_of(net, "regulator")
    balances = {m: balance_of(net.nodes["bank-a"].store.state(), m).balance for m in MEMBERS}

    probe = ["canary", "probe", "--secrets", str(secrets), "--reveal", "--json"]
    out = net.ok(*probe, "--config", regulator)
    report = json.loads(out.splitlines()[0])
    assert report["probed"] == 2
    assert [(r["member"], r["value"]) for r in report["listed"]] == [("bank-b", CANARY)]
    rid = report["listed"][0]["receipt"]
    assert "canary revealed on" in out
    net.synced()
    for node in net.nodes.values():
        d = dispute_of(node.store.state(), rid)
        assert (d["kind"], d["holder"], d["filer"], d["status"]) == (
            "canary",
            "bank-b",
            "regulator",
            "filed",
        )
        receipt: Any = node.store.state().get("credits.receipts", rid)
        assert receipt["canary"] is True and receipt["charge"] == 0
    # Canary probes are recorded, never charged: no member's balance moved.
    wait(lambda: net.nodes["bank-b"].local.counts().get("pending", 0) == 0)
    assert {
        m: balance_of(net.nodes["bank-a"].store.state(), m).balance for m in MEMBERS
    } == balances
    # One probe per publisher, each recorded as a canary receipt.
    probes = _receipts_of(net, "regulator")
    assert sorted(r["responder"] for r in probes) == MEMBERS
    assert all(r["canary"] and r["purpose"] == "canary" for r in probes)


def _receipts_of(net: Net, querier: str) -> list[Any]:
    state = net.nodes["bank-a"].store.state()
    rows: list[Any] = [row for _, row in state.scan("credits.receipts")]
    return [row for row in rows if row["querier"] == querier]


def test_the_holder_opens_evidence_then_delists_what_was_upheld(net: Net) -> None:
    """The canary dispute runs on: bank-b opens the evidence it committed for the entry
    (the revealed canary value is the identifier), the observer upholds it, which obliges
    bank-b to delist; bank-b removes the entry, its gateway publishes the new epoch, and
    `riskshare dispute delisted` discharges the obligation."""
    rows: list[tuple[str, Any]] = list(net.nodes["bank-b"].store.state().scan("credits.disputes"))
    (rid,) = [key for key, row in rows if row["kind"] == "canary"]
    out = net.ok("dispute", "evidence", rid[:12], "--config", net.config("bank-b"))
    assert "committed at height" in out
    out = net.ok(
        "dispute", "resolve", rid[:12], "--verdict", "upheld", "--note", "listed a canary",
        "--config", net.config("regulator"),
    )  # fmt: skip
    net.synced()
    obligation: Any = net.row("bank-b", "credits.delist", f"bank-b/{LT}/{rid}")
    assert obligation["status"] == "open"
    # Too early: nothing newer than the disputed epoch is published yet.
    early = net.cli("dispute", "delisted", rid[:12], "--config", net.config("bank-b"))
    assert early.exit_code != 0 and "publish a new index epoch" in str(early.exception)
    load_list(net.consortium.members["bank-b"], [r for r in LISTS["bank-b"] if r[2] != CANARY])
    assert net.nodes["bank-b"].recorder.publish() == [LT]
    net.ok("dispute", "delisted", rid[:12], "--config", net.config("bank-b"))
    net.synced()
    for node in net.nodes.values():
        row: Any = node.store.state().get("credits.delist", f"bank-b/{LT}/{rid}")
        assert row["status"] == "fulfilled"
