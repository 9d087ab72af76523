"""Transaction bodies for every ``credits.*`` kind, built the way the handlers read them.

Gateways and the CLI sign these with :func:`ledger.sign_transaction` (kind and body as
returned here); building them in one place keeps the wire shape next to its rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ledger import State, Value
from token_incentive._errors import CreditsError
from token_incentive._messages import QueryReceipt, SignedReceipt, SignedRequest
from token_incentive._settlement import compute_settlement, settlement_due

__all__ = [
    "canary_commit_body",
    "canary_reveal_body",
    "confirm_body",
    "delisted_body",
    "dispute_body",
    "evidence_body",
    "hit_report",
    "hits_body",
    "receipt_body",
    "refund_body",
    "resolve_body",
    "settlement_proposal",
]

Body = dict[str, Value]


def receipt_body(request: SignedRequest, receipt: SignedReceipt | QueryReceipt) -> Body:
    """``credits.receipt`` (body version 2), submitted by the responder.

    The receipt's own signature stays off the ledger: the responder's transaction
    signature covers the receipt's bytes (``token_incentive._contract``). The querier
    still holds the separately signed receipt it was given with the answer.
    """
    data = receipt.data if isinstance(receipt, SignedReceipt) else receipt.to_bytes()
    return {"request": request.data, "request_sig": request.signature, "receipt": data}


def refund_body(
    receipt_id: str, blinded: Sequence[bytes], evaluated: Sequence[bytes], proof: bytes
) -> Body:
    """``credits.refund``: the querier shows the committed elements and the signed response."""
    return {
        "receipt": receipt_id,
        "blinded": list(blinded),
        "evaluated": list(evaluated),
        "proof": proof,
    }


def hits_body(hits: Sequence[Sequence[str]]) -> Body:
    """``credits.hits``: for each identifier that hit, the receipt ids of the responders
    that answered yes to it (one for a directed query, several for a broadcast)."""
    items: list[Value] = [list(dict.fromkeys(rids)) for rids in hits if rids]
    if not items:
        raise CreditsError("a hit report needs at least one hit")
    return {"items": items}


def hit_report(answers: Sequence[tuple[str, Sequence[bool]]]) -> Body | None:
    """The ``credits.hits`` body for one (broadcast) query, from each responder's answer.

    ``answers`` pairs each responder's receipt id with its per-item verdicts (the same
    items, in the same order, for every responder); items nobody said yes to are left
    out. ``None`` when nothing hit: there is nothing to report.
    """
    if not answers:
        return None
    width = len(answers[0][1])
    if any(len(hits) != width for _, hits in answers):
        raise CreditsError("every answer of one query has one verdict per item")
    items = [[rid for rid, hits in answers if hits[i]] for i in range(width)]
    return hits_body(items) if any(items) else None


def confirm_body(receipt_id: str, hits: Sequence[int] = ()) -> Body:
    """``credits.feedback`` confirm: the hits (default: all open ones) were true."""
    return {"receipt": receipt_id, "action": "confirm", "hits": list(hits)}


def dispute_body(
    receipt_id: str,
    hits: Sequence[int] = (),
    reason: str = "false_positive",
    subjects: Sequence[bytes] | None = None,
) -> Body:
    """``credits.feedback`` dispute: the hits (default: all open ones) were false.

    ``subjects``, one 32-byte salted commitment per disputed hit, bind the entries the
    querier will identify to the holder and the arbitrator off the ledger.
    """
    body: Body = {"receipt": receipt_id, "action": "dispute", "hits": list(hits), "reason": reason}
    if subjects is not None:
        body["subjects"] = list(subjects)
    return body


def evidence_body(dispute_id: str, openings: Sequence[Mapping[str, Any]]) -> Body:
    """``credits.evidence``: per disputed hit, ``{"leaf", "index", "size", "proof"}`` —
    the salted evidence hash and its RFC 9162 inclusion proof in the committed root."""
    return {
        "dispute": dispute_id,
        "openings": [
            {
                "leaf": o["leaf"],
                "index": o["index"],
                "size": o["size"],
                "proof": list(o["proof"]),
            }
            for o in openings
        ],
    }


def resolve_body(dispute_id: str, verdict: str, note: str = "") -> Body:
    """``credits.resolve`` (an observer): ``upheld`` or ``rejected``."""
    if verdict not in ("upheld", "rejected"):
        raise CreditsError("a verdict is upheld or rejected")
    return {"dispute": dispute_id, "verdict": verdict, "note": note}


def delisted_body(dispute_id: str) -> Body:
    """``credits.delisted`` (the holder): it has published an index without the entry."""
    return {"dispute": dispute_id}


def canary_commit_body(commitments: Sequence[bytes]) -> Body:
    """``credits.canary_commit`` (an observer): salted commitments to canary identifiers."""
    return {"commitments": list(commitments)}


def canary_reveal_body(
    commitment: bytes, salt: bytes, record: Mapping[str, str], receipt_id: str
) -> Body:
    """``credits.canary_reveal`` (an observer): open a canary a probe found listed."""
    return {"commitment": commitment, "salt": salt, "record": dict(record), "receipt": receipt_id}


def settlement_proposal(state: State, now: int) -> Body | None:
    """The ``credits.settle`` body to propose at ``now``, or ``None`` if none is due.

    A gateway calls this on a timer and submits the body; if another member's identical
    proposal lands first, its own is refused as a replay of a settled epoch, harmlessly.
    """
    epoch = settlement_due(state, now)
    return None if epoch is None else compute_settlement(state, epoch)
