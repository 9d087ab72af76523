"""What must hold after every fault: nothing lost, nobody duplicated, replicas identical.

Read straight from every party's SQLite files after the network settled:

- every replica re-verifies its whole chain (``ledger.verify_chain``: signatures,
  Merkle roots, every transaction re-executed, state digests recomputed) and ends on
  the same height, head hash and state digest as every other;
- every receipt is recorded exactly once: one valid ``credits.receipt`` transaction per
  receipt id, on every replica the same set; refused receipt transactions are counted
  with their reasons;
- nothing lost: every receipt id the load generator was handed in an answer is on
  the ledger, and every answer a responder stored reached the ledger (its bookkeeping
  says ``committed``, none ``refused``, none still pending);
- nobody charged without an answer: every receipt that charges a querier of the
  campaign is one whose answer that querier received (or one refunded to it). A query
  in flight when its own querier's gateway was killed is counted apart: the responder
  answered and charged, and the querier died before handing the answer on;
- credits are conserved (Σ balances = minted − burned − penalties, and Σ charges of
  the receipts = the charges counter) and every replica holds the same balances.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway._registry import consortium_registry
from ledger import ChainVerificationError, Store, verify_chain
from tests.reliability._load import QueryRecord
from token_incentive import SignedRequest, supply

__all__ = ["Audit", "ReplicaView", "audit", "read_replica", "responder_books"]

RECEIPTS, ACCOUNTS = "credits.receipts", "credits.accounts"


@dataclass(frozen=True, slots=True)
class ReplicaView:
    party: str
    height: int
    head: bytes
    state_digest: bytes
    chain_error: str
    receipts: dict[str, Any]
    requests: dict[str, tuple[str, int]]  # receipt id -> (querier, request time in ms)
    receipt_txs: Counter[str]  # valid credits.receipt transactions per receipt id
    refused_receipt_txs: Counter[str]  # refused ones, by reason
    balances: dict[str, int]
    supply: dict[str, int]


def read_replica(party: str, path: Path, *, verify: bool = True) -> ReplicaView:
    with Store(path, create=False) as store:
        chain_error = ""
        if verify:
            try:
                verify_chain(store, consortium_registry())
            except ChainVerificationError as exc:
                chain_error = str(exc)
        head = store.head()
        assert head is not None
        state = store.state()
        receipts = dict(state.scan(RECEIPTS))
        per_id: Counter[str] = Counter()
        requests: dict[str, tuple[str, int]] = {}
        refused: Counter[str] = Counter()
        for record in store.txs(kind="credits.receipt"):
            if not record.ok:
                refused[record.reason[:80]] += 1
                continue
            body: Any = record.decoded().tx.body
            signed = SignedRequest.from_parts(body["request"], body["request_sig"])
            per_id[signed.receipt_id] += 1
            requests[signed.receipt_id] = (signed.request.querier, signed.request.time)
        balances = {
            key: int(row["balance"]) for key, row in state.scan(ACCOUNTS) if isinstance(row, dict)
        }
        return ReplicaView(
            party=party,
            height=head.height,
            head=head.hash,
            state_digest=head.state_digest,
            chain_error=chain_error,
            receipts=receipts,
            requests=requests,
            receipt_txs=per_id,
            refused_receipt_txs=refused,
            balances=balances,
            supply=supply(state),
        )


def responder_books(data_dirs: dict[str, Path]) -> dict[str, dict[str, int]]:
    """Each member's own record of the answers it served, by state."""
    out: dict[str, dict[str, int]] = {}
    for member_id, data_dir in data_dirs.items():
        path = data_dir / "gateway.sqlite"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            rows = conn.execute("SELECT state, COUNT(*) FROM answered GROUP BY state").fetchall()
        finally:
            conn.close()
        out[member_id] = {str(state): int(n) for state, n in rows}
    return out


@dataclass
class Audit:
    replicas: int
    height: int
    receipts: int
    records_checked: int
    heads_equal: bool
    digests_equal: bool
    chains_verified: bool
    receipt_sets_equal: bool
    duplicated: int  # receipt ids with more than one valid transaction
    lost: int  # answered receipt ids missing from the ledger
    charged_without_answer: int
    querier_crashed: int  # charged queries in flight when their querier was killed
    refunded: int
    books: dict[str, dict[str, int]]
    not_recorded: int  # answers a responder stored that never reached the ledger
    balances_equal: bool
    conserved: bool
    refused_receipt_txs: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "replicas": self.replicas,
            "height": self.height,
            "receipts": self.receipts,
            "records_checked": self.records_checked,
            "heads_equal": self.heads_equal,
            "state_digests_equal": self.digests_equal,
            "chains_verified": self.chains_verified,
            "receipt_sets_equal": self.receipt_sets_equal,
            "duplicated": self.duplicated,
            "lost": self.lost,
            "charged_without_answer": self.charged_without_answer,
            "in_flight_when_querier_killed": self.querier_crashed,
            "refunded": self.refunded,
            "not_recorded": self.not_recorded,
            "balances_equal": self.balances_equal,
            "conserved": self.conserved,
            "refused_receipt_txs": self.refused_receipt_txs,
            "responder_books": self.books,
            "problems": self.problems,
        }


def answered_receipts(records: Iterable[QueryRecord]) -> set[str]:
    return {a.receipt for r in records for a in r.answers if a.receipt}


def audit(
    views: Sequence[ReplicaView],
    records: Sequence[QueryRecord],
    books: dict[str, dict[str, int]],
    queriers: Iterable[str],
    *,
    before: set[str] | frozenset[str] = frozenset(),
    kills: Sequence[tuple[str, int]] = (),
    in_flight_ms: int = 20_000,
) -> Audit:
    """Check the invariants of the module docstring over settled replicas.

    ``records`` are every query of the load so far; ``before`` the receipt ids already
    on the ledger when the load began (not the load's to explain); ``kills`` the
    gateways killed, with the wall time in ms: a request their querier signed up to
    ``in_flight_ms`` before it was killed was in flight.
    """
    problems: list[str] = []
    first = views[0]
    heads_equal = len({(v.height, v.head) for v in views}) == 1
    digests_equal = len({v.state_digest for v in views}) == 1
    if not heads_equal:
        problems.append(
            f"heads differ: { {v.party: (v.height, v.head.hex()[:12]) for v in views} }"
        )
    if not digests_equal:
        problems.append("state digests differ")
    chain_errors = {v.party: v.chain_error for v in views if v.chain_error}
    if chain_errors:
        problems.append(f"chain verification failed: {chain_errors}")
    receipt_sets_equal = all(set(v.receipts) == set(first.receipts) for v in views)
    if not receipt_sets_equal:
        problems.append("replicas hold different receipt sets")
    duplicated = 0
    for view in views:
        dup = [rid for rid, n in view.receipt_txs.items() if n > 1]
        missing_tx = set(view.receipts) - set(view.receipt_txs)
        extra_tx = set(view.receipt_txs) - set(view.receipts)
        duplicated = max(duplicated, len(dup))
        if dup or missing_tx or extra_tx:
            problems.append(
                f"{view.party}: {len(dup)} receipts recorded twice, {len(missing_tx)} without"
                f" a transaction, {len(extra_tx)} transactions without a receipt"
            )
    answered = answered_receipts(records)
    on_ledger = set(first.receipts)
    lost = answered - on_ledger
    if lost:
        problems.append(f"{len(lost)} answered receipts are not on the ledger")
    members = set(queriers)
    campaign = {
        rid: row
        for rid, row in first.receipts.items()
        if rid not in before and isinstance(row, dict) and row.get("querier") in members
    }
    refunded = {rid for rid, row in campaign.items() if row.get("status") == "refunded"}
    unexplained = set(campaign) - answered - refunded
    crashed = {
        rid
        for rid in unexplained
        if rid in first.requests
        and any(
            first.requests[rid][0] == member
            and killed - in_flight_ms <= first.requests[rid][1] <= killed
            for member, killed in kills
        )
    }
    unexplained -= crashed
    if unexplained:
        sample = [
            {k: campaign[rid].get(k) for k in ("querier", "responder", "items", "time", "height")}
            for rid in sorted(unexplained)[:5]
        ]
        problems.append(
            f"{len(unexplained)} receipts charge a querier that got no answer: {sample}"
        )
    not_recorded = 0
    for member_id, book in books.items():
        # A ``reserved`` row is a request admitted but never answered (its worker was
        # killed in between): no receipt was signed, nothing can be charged, and the
        # responder releases it after a minute (LocalState.release_stale).
        stuck = {s: n for s, n in book.items() if s not in ("committed", "reserved")}
        not_recorded += sum(stuck.values())
        if stuck:
            problems.append(f"{member_id}: answers not recorded on the ledger: {stuck}")
    balances_equal = all(v.balances == first.balances for v in views)
    if not balances_equal:
        problems.append("replicas hold different balances")
    conserved = True
    for view in views:
        charges = sum(int(row["charge"]) for row in view.receipts.values() if isinstance(row, dict))
        if sum(view.balances.values()) != view.supply["supply"]:
            conserved = False
            problems.append(f"{view.party}: Σ balances != supply {view.supply}")
        if charges != view.supply["charges"]:
            conserved = False
            problems.append(f"{view.party}: Σ receipt charges {charges} != {view.supply}")
    refused: Counter[str] = Counter()
    for reason, n in first.refused_receipt_txs.items():
        refused[reason] += n
    return Audit(
        replicas=len(views),
        height=first.height,
        receipts=len(on_ledger),
        records_checked=len(views) * len(on_ledger),
        heads_equal=heads_equal,
        digests_equal=digests_equal,
        chains_verified=not chain_errors,
        receipt_sets_equal=receipt_sets_equal,
        duplicated=duplicated,
        lost=len(lost),
        charged_without_answer=len(unexplained),
        querier_crashed=len(crashed),
        refunded=len(refunded),
        books=books,
        not_recorded=not_recorded,
        balances_equal=balances_equal,
        conserved=conserved,
        refused_receipt_txs=dict(refused),
        problems=problems,
    )
