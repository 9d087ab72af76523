"""Evaluation (去伪存真): hit reports, confirm/dispute, disputes with evidence, canaries."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from ledger import inclusion_proof, merkle_root
from token_incentive import canary_commitment, params_from_state
from token_incentive._book import last_settled

from ._net import DAY, T0, Net

LT = "transaction_fraud"
EVIDENCE = [hashlib.sha256(os.urandom(16) + b"case-%d" % i).digest() for i in range(11)]


@pytest.fixture
def net() -> Net:
    n = Net(observers=("obs", "obs2"))
    for m in n.members:
        n.publish(m, LT, evidence_root=merkle_root(EVIDENCE))
    return n


def _opening(index: int) -> dict[str, Any]:
    return {
        "leaf": EVIDENCE[index],
        "index": index,
        "size": len(EVIDENCE),
        "proof": inclusion_proof(EVIDENCE, index),
    }


def test_broadcast_hits_give_k_and_shares_sum_to_one(net: Net) -> None:
    now = T0 + 1000
    ab = net.query("alpha", "bravo", LT, 3, now)
    ac = net.query("alpha", "charlie", LT, 3, now)
    # Item 1 hit at both responders, item 2 at bravo only.
    net.apply("alpha", "credits.hits", {"items": [[ab, ac], [ab]]}, now + 10)
    assert net.receipt(ab)["hits"] == [2, 1]
    assert net.receipt(ac)["hits"] == [2]
    body = net.settle()
    by = {e["member"]: e for e in body["entries"]}
    p = params_from_state(net.state)
    q = p.quality(0, 0)
    # β·q·w·(1/2 + 1) for bravo, β·q·w·(1/2) for charlie, each rounded down.
    assert by["bravo"]["hits"] == int(300 * q * 3 / 2)
    assert by["charlie"]["hits"] == int(300 * q / 2)
    assert (by["bravo"]["tp"], by["charlie"]["tp"]) == (2, 1)


def test_hit_report_refusals(net: Net) -> None:
    now = T0 + 1000
    ab = net.query("alpha", "bravo", LT, 1, now)
    ab2 = net.query("alpha", "bravo", LT, 1, now)
    ca = net.query("charlie", "alpha", LT, 1, now)
    assert "not alpha's" in net.refused("alpha", "credits.hits", {"items": [[ca]]}, now + 1)
    assert "appears twice" in net.refused("alpha", "credits.hits", {"items": [[ab, ab]]}, now + 1)
    reason = net.refused("alpha", "credits.hits", {"items": [[ab, ab2]]}, now + 1)
    assert "same responder" in reason
    reason = net.refused("alpha", "credits.hits", {"items": [[ab], [ab]]}, now + 1)
    assert "1 items, not 2 hits" in reason
    late = now + params_from_state(net.state).feedback_window_ms
    assert "closed" in net.refused("alpha", "credits.hits", {"items": [[ab]]}, late)
    net.apply("alpha", "credits.hits", {"items": [[ab]]}, now + 1)
    assert "reported before" in net.refused("alpha", "credits.hits", {"items": [[ab]]}, now + 2)


def test_feedback_refusals(net: Net) -> None:
    now = T0 + 1000
    ab = net.query("alpha", "bravo", LT, 2, now)
    plain = net.query("alpha", "charlie", LT, 2, now)
    net.apply("alpha", "credits.hits", {"items": [[ab], [ab]]}, now + 1)
    dispute = {"receipt": ab, "action": "dispute", "hits": [0]}
    # On someone else's receipt.
    assert "not charlie's" in net.refused("charlie", "credits.feedback", dispute, now + 2)
    # On a receipt without hits.
    no_hits = {"receipt": plain, "action": "confirm"}
    assert "no hits" in net.refused("alpha", "credits.feedback", no_hits, now + 2)
    # After the window.
    late = now + params_from_state(net.state).feedback_window_ms
    assert "closed" in net.refused("alpha", "credits.feedback", dispute, late)
    bad = {"receipt": ab, "action": "dispute", "hits": [5]}
    assert "in [0, 2)" in net.refused("alpha", "credits.feedback", bad, now + 2)
    net.apply("alpha", "credits.feedback", dispute, now + 2)
    # A second dispute on one receipt, even on its other hit.
    again = {"receipt": ab, "action": "dispute", "hits": [1]}
    assert "already has a dispute" in net.refused("alpha", "credits.feedback", again, now + 3)
    # A disputed hit cannot then be confirmed; the other one can, once.
    confirm = {"receipt": ab, "action": "confirm", "hits": [0]}
    assert "already confirmed or disputed" in net.refused(
        "alpha", "credits.feedback", confirm, now + 3
    )
    net.apply("alpha", "credits.feedback", {"receipt": ab, "action": "confirm"}, now + 3)
    assert net.receipt(ab)["hit_state"] == ["d", "c"]
    again = {"receipt": ab, "action": "confirm"}
    assert "no open hits" in net.refused("alpha", "credits.feedback", again, now + 4)


def test_dispute_upheld_is_a_false_positive_with_penalty_and_delisting(net: Net) -> None:
    now = T0 + 1000
    ab = net.query("alpha", "bravo", LT, 2, now)
    net.apply("alpha", "credits.hits", {"items": [[ab], [ab]]}, now + 1)
    net.apply(
        "alpha", "credits.feedback", {"receipt": ab, "action": "dispute", "hits": [1]}, now + 2
    )
    resolve = {"dispute": ab, "verdict": "upheld", "note": "no grounds"}
    # Only an observer resolves; before the holder's deadline it needs an opening.
    assert "may not submit" in net.refused("charlie", "credits.resolve", resolve, now + 3)
    assert "may open its evidence until" in net.refused("obs", "credits.resolve", resolve, now + 3)
    reject = {"dispute": ab, "verdict": "rejected"}
    assert "opened" in net.refused("obs", "credits.resolve", reject, now + 3)
    # Only the holder opens, with a proof against its committed evidence root.
    evidence = {"dispute": ab, "openings": [_opening(4)]}
    assert "only the holder" in net.refused("alpha", "credits.evidence", evidence, now + 3)
    forged = {"dispute": ab, "openings": [{**_opening(4), "leaf": EVIDENCE[5]}]}
    assert "does not verify" in net.refused("bravo", "credits.evidence", forged, now + 3)
    net.apply("bravo", "credits.evidence", evidence, now + 3)
    assert net.dispute(ab)["status"] == "opened"
    net.apply("obs", "credits.resolve", resolve, now + 4)
    assert "already resolved" in net.refused("obs2", "credits.resolve", reject, now + 5)
    assert net.receipt(ab)["hit_state"] == ["r", "u"]
    body = net.settle()
    bravo = next(e for e in body["entries"] if e["member"] == "bravo")
    p = params_from_state(net.state)
    assert (bravo["tp"], bravo["fp"], bravo["penalty"]) == (1, 1, p.penalty)
    ob = net.state.get("credits.delist", f"bravo/{LT}/{ab}")
    assert isinstance(ob, dict) and ob["status"] == "open"
    later = net.settle_time(0) + 1
    reason = net.refused("bravo", "credits.delisted", {"dispute": ab}, later)
    assert "new index epoch" in reason
    net.publish("bravo", LT, epoch=2, evidence_root=merkle_root(EVIDENCE))
    assert "no obligation" in net.refused("alpha", "credits.delisted", {"dispute": ab}, later)
    net.apply("bravo", "credits.delisted", {"dispute": ab}, later)
    assert net.conservation_gap() == 0


def test_dispute_rejected_pays_the_hits_later(net: Net) -> None:
    now = T0 + 1000
    ab = net.query("alpha", "bravo", LT, 1, now)
    net.apply("alpha", "credits.hits", {"items": [[ab]]}, now + 1)
    net.apply("alpha", "credits.feedback", {"receipt": ab, "action": "dispute"}, now + 2)
    first = net.settle()
    bravo = next(e for e in first["entries"] if e["member"] == "bravo")
    assert bravo["hits"] == 0 and bravo["tp"] == 0  # pending: held back
    net.apply(
        "bravo", "credits.evidence", {"dispute": ab, "openings": [_opening(0)]}, now + 3 * DAY
    )
    net.apply("obs", "credits.resolve", {"dispute": ab, "verdict": "rejected"}, now + 3 * DAY)
    # The verdict falls in epoch 3; the settlement of epoch 3 accounts it.
    assert [net.settle()["disputes"] for _ in range(2)] == [[], []]
    third = net.settle()
    bravo = next(e for e in third["entries"] if e["member"] == "bravo")
    assert bravo["tp"] == 1 and bravo["hits"] > 0
    assert third["disputes"] == [f"{3:012d}/{ab}"]
    assert net.dispute(ab)["settled_in"] == 3


def test_canary_commit_probe_reveal(net: Net) -> None:
    now = T0 + 1000
    record = {
        "list_type": LT,
        "id_type": "cn_id",
        "normaliser_version": "v1",
        "value": "110101199001011237",
    }
    salt = os.urandom(32)
    commitment = canary_commitment(salt, record)
    assert "may not submit" in net.refused(
        "alpha", "credits.canary_commit", {"commitments": [commitment]}, now
    )
    net.apply("obs", "credits.canary_commit", {"commitments": [commitment]}, now)
    again = {"commitments": [commitment]}
    assert "committed before" in net.refused("obs", "credits.canary_commit", again, now + 1)
    probe = net.query("obs", "bravo", LT, 1, now + 10, purpose="canary")
    reveal = {"commitment": commitment, "salt": salt, "record": record, "receipt": probe}
    wrong = {**reveal, "salt": os.urandom(32)}
    assert "do not open" in net.refused("obs", "credits.canary_reveal", wrong, now + 20)
    ordinary = net.query("alpha", "bravo", LT, 1, now + 10)
    assert "not a recorded canary probe" in net.refused(
        "obs", "credits.canary_reveal", {**reveal, "receipt": ordinary}, now + 20
    )
    net.apply("obs", "credits.canary_reveal", reveal, now + 20)
    d = net.dispute(probe)
    assert (d["kind"], d["holder"], d["filer"], d["status"]) == ("canary", "bravo", "obs", "filed")
    assert "no open canary" in net.refused("obs", "credits.canary_reveal", reveal, now + 21)
    # The filer may not judge its own canary while another observer can.
    deadline = now + 20 + params_from_state(net.state).dispute_open_ms
    while net.settle_time(last_settled(net.state) + 1) <= deadline:
        net.settle()  # time passes; the probe's epoch is settled with no reward for it
    upheld = {"dispute": probe, "verdict": "upheld"}
    assert "filer" in net.refused("obs", "credits.resolve", upheld, deadline)
    net.apply("obs2", "credits.resolve", upheld, deadline)
    body = net.settle()
    while not body["disputes"]:
        body = net.settle()
    bravo = next(e for e in body["entries"] if e["member"] == "bravo")
    p = params_from_state(net.state)
    assert (bravo["fp"], bravo["penalty"]) == (1, p.penalty)
    assert net.state.get("credits.quality", "bravo") == {"tp": 0, "fp": 1}


def test_canary_committed_after_the_probe_is_refused(net: Net) -> None:
    now = T0 + 1000
    # One open canary makes the probe free (a probe beyond the open canaries is charged).
    net.apply("obs", "credits.canary_commit", {"commitments": [os.urandom(32)]}, now)
    probe = net.query("obs", "bravo", LT, 1, now, purpose="canary")
    record = {"list_type": LT, "id_type": "cn_id", "normaliser_version": "v1", "value": "x"}
    salt = os.urandom(16)
    commitment = canary_commitment(salt, record)
    net.apply("obs", "credits.canary_commit", {"commitments": [commitment]}, now + 1)
    reveal = {"commitment": commitment, "salt": salt, "record": record, "receipt": probe}
    assert "after the probe" in net.refused("obs", "credits.canary_reveal", reveal, now + 2)
