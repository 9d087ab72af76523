"""A query through the CLI and everything that follows it on the ledger.

``riskshare query`` signs each request with the purpose, legal basis and consent
reference given (per row from a file, too); the responders record the receipts; the
querier's gateway reports what hit (every yes-sayer of the broadcast, so k = 2 for an
identifier two members list). Then the querier confirms one hit and disputes another
through the CLI; the holder answers with the evidence it committed for the entry, from
the epoch's evidence root on the ledger (``riskshare dispute evidence``); an observer
resolves it (``riskshare dispute resolve``). Every replica ends in the same state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ledger import Store
from tests.integration.conftest import LT, Net, wait
from token_incentive import SignedRequest, dispute_of

VALUE = "13800138000"  # listed by bank-a and bank-b


def _requests(store: Store, querier: str) -> dict[str, Any]:
    """The signed requests of ``querier`` recorded on the ledger, by receipt id."""
    out = {}
    for tx in store.txs(kind="credits.receipt", party=querier, ok=True):
        body = tx.decoded().tx.body
        signed = SignedRequest.from_parts(body["request"], body["request_sig"])
        out[signed.receipt_id] = signed.request
    return out


def _query(net: Net, querier: str, *args: str) -> dict[str, Any]:
    result = net.cli("query", *args, "--json", "--config", net.config(querier))
    assert result.exit_code in (0, 1), (result.output, result.exception)
    return dict(json.loads(result.output))


def test_purpose_legal_basis_and_consent_are_signed_into_each_request(
    net: Net, tmp_path: Path
) -> None:
    reply = _query(
        net, "bank-a", "13600136000", "--member", "bank-c", "--purpose", "onboarding",
        "--legal-basis", "consent", "--consent-ref", "crm:consent/4711",
    )  # fmt: skip
    (rid,) = reply["answers"][0]["receipts"]
    rows = tmp_path / "batch.csv"
    rows.write_text(
        "value,purpose,legal_basis,consent_ref\n"
        "13600136000,,contract,\n"
        "13600136001,aml_review,legal_obligation,\n"
        "13600136002,,contract,\n"
    )
    batch = _query(net, "bank-a", "--file", str(rows), "--member", "bank-c")
    assert [r["hit"] for r in batch["results"]] == [True, False, False]
    batch_rids = set(batch["answers"][0]["receipts"])
    assert len(batch_rids) == 2  # one request per distinct (purpose, basis, consent)
    store = net.nodes["bank-c"].store
    wait(lambda: {rid, *batch_rids} <= set(_requests(store, "bank-a")))
    requests = _requests(store, "bank-a")
    one = requests[rid]
    assert (one.purpose_code, one.legal_basis, one.consent_ref) == (
        "onboarding",
        "consent",
        "crm:consent/4711",
    )
    signed = sorted(
        (requests[r].item_count, requests[r].purpose_code, requests[r].legal_basis)
        for r in batch_rids
    )
    # The purpose default is the gateway's [query] purpose; consent stays empty.
    assert signed == [(1, "aml_review", "legal_obligation"), (2, "screening", "contract")]
    assert all(requests[r].consent_ref is None for r in batch_rids)


def test_hits_reported_then_confirm_dispute_evidence_verdict(net: Net) -> None:
    reply = _query(net, "bank-c", VALUE)
    assert [r["hit"] for r in reply["results"]] == [True]
    rid = {a["member"]: a["receipts"][0] for a in reply["answers"]}
    assert set(rid) == {"bank-a", "bank-b"}
    # bank-c's gateway reports the hit on both receipts once they are recorded: k = 2.
    for member_id in ("bank-a", "bank-b"):

        def reported(m: str = member_id) -> bool:
            return bool((net.row("bank-c", "credits.receipts", rid[m]) or {}).get("hits"))

        wait(reported)
        assert net.row("bank-c", "credits.receipts", rid[member_id])["hits"] == [2]
    config_c = net.config("bank-c")
    out = net.ok("feedback", "confirm", rid["bank-a"][:12], "--config", config_c)
    assert "committed at height" in out
    out = net.ok("feedback", "dispute", rid["bank-b"][:12], "--hit", "0", "--config", config_c)
    assert "committed at height" in out
    net.synced()
    assert net.row("bank-a", "credits.receipts", rid["bank-a"])["hit_state"] == ["c"]
    assert dispute_of(net.nodes["bank-b"].store.state(), rid["bank-b"])["status"] == "filed"

    # Someone else's receipt: refused by the CLI before anything is signed.
    refused = net.cli("feedback", "confirm", rid["bank-a"], "--config", net.config("bank-b"))
    assert refused.exit_code != 0 and "bank-c's" in str(refused.exception)

    # The holder opens the evidence it committed for the entry bank-c names off the
    # ledger; the identifier is read from standard input (out of shell history).
    openings = net.consortium.root / "openings.jsonl"
    out = net.ok(
        "dispute", "evidence", rid["bank-b"][:12], "--openings-out", str(openings),
        "--config", net.config("bank-b"), input="138 0013 8000\n",
    )  # fmt: skip
    assert "evidence for" in out and "committed at height" in out
    net.synced()
    d = dispute_of(net.nodes["regulator"].store.state(), rid["bank-b"])
    assert d["status"] == "opened" and len(d["openings"]) == 1
    # The arbitrator checks the opening against the root and size on the ledger.
    observer_dir = str(net.data_dir("regulator"))
    shown = net.ok("dispute", "show", rid["bank-b"][:12], "--data-dir", observer_dir)
    assert "size matches the epoch" in shown
    pub = net.row("regulator", "pub.index", f"bank-b/{LT}")
    opening = openings.read_text().splitlines()[0]
    opening_file = net.consortium.root / "opening.json"
    opening_file.write_text(opening)
    out = net.ok(
        "lists", "verify-evidence", str(opening_file),
        "--root", pub["evidence_root"].hex(), "--size", str(pub["size"]),
    )  # fmt: skip
    assert out.startswith("ok:")
    assert json.loads(opening)["value"] == VALUE

    # A member may not give the verdict; the observer does.
    refused = net.cli(
        "dispute", "resolve", rid["bank-b"][:12], "--verdict", "upheld",
        "--config", net.config("bank-a"),
    )  # fmt: skip
    assert refused.exit_code != 0 and "refused" in str(refused.exception)
    out = net.ok(
        "dispute", "resolve", rid["bank-b"][:12], "--verdict", "rejected",
        "--note", "the entry and its evidence predate the query",
        "--config", net.config("regulator"),
    )  # fmt: skip
    assert "committed at height" in out
    net.synced()
    for member_id, node in net.nodes.items():
        d = dispute_of(node.store.state(), rid["bank-b"])
        assert (d["status"], d["resolver"]) == ("rejected", "regulator"), member_id
        receipt: Any = node.store.state().get("credits.receipts", rid["bank-b"])
        assert receipt["hit_state"] == ["v"]
