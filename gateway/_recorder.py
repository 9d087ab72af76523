"""What the gateway writes to the ledger on its own: index commitments, query receipts,
refund claims, hit reports, settlement proposals.

- **Publishing.** When the member's index (``index.sqlite``, written by
  ``riskshare lists import/sync``) has an epoch the ledger does not show yet, the OPRF
  key is registered (``pub.add_oprf_key``, key id = hex of psi's key id) if it is new,
  and the epoch committed (``pub.publish_index``) with the evidence root of the list
  epoch it came from and the list's expiry (``gateway._evidence``). Queriers trust only
  these records; disputes are opened against the evidence root.
- **Receipts.** Every answer a worker stored is recorded as ``credits.receipt`` (the
  querier's signed request and our signed receipt), which charges the querier. Rows go
  pending → submitted → committed (or refused, with the ledger's reason). A submitted
  transaction that never lands is submitted again later; the ledger refuses a second
  recording of one request, so nobody is charged twice.
- **Refunds.** An answer whose proof did not verify is claimed back with
  ``credits.refund`` once the responder's receipt for it is on the ledger.
- **Hits** (``gateway._hits``) and **settlements** (``gateway._settle``): the querier's
  hit reports once their receipts are recorded, and the epoch settlement when it is
  due and this gateway's turn.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from gateway._errors import GatewayError
from gateway._evidence import epoch_evidence
from gateway._hits import HitReporter
from gateway._ledger_client import TxSubmitter
from gateway._localstate import LocalState
from gateway._log import log_event
from gateway._settle import Settler
from ledger import Store, add_oprf_key_body, publish_index_body
from psi import IndexStore, decode_elements

__all__ = ["Recorder"]

_log = logging.getLogger("riskshare.gateway.recorder")

PUB_INDEX, OPRF_KEYS, RECEIPTS = "pub.index", "pub.oprf_keys", "credits.receipts"
_RESUBMIT_MS = 30_000
# A list expiring sooner than this is not published: the block would come too late.
_SKEW_MS = 60_000


class Recorder:
    def __init__(
        self,
        member_id: str,
        store: Store,
        local: LocalState,
        submitter: TxSubmitter,
        index_path: Path,
        metrics: Any | None = None,
    ) -> None:
        self.member_id = member_id
        self._store = store
        self._local = local
        self._submitter = submitter
        self._index_path = index_path
        self._metrics = metrics
        self.hits = HitReporter(member_id, store, local, submitter)
        self.settler = Settler(member_id, store, submitter)
        self._submitted_at: dict[str, int] = {}

    # -- index commitments -------------------------------------------------------------

    def publish(self) -> list[str]:
        """Commit every index epoch the ledger does not show yet; the list types done."""
        if not self._index_path.exists():
            return []
        done = []
        index = IndexStore(self._index_path, pool=None)
        try:
            for list_type in index.list_types():
                commitment = index.commitment(list_type)
                if commitment.epoch == 0 or commitment.size == 0:
                    continue  # nothing imported yet: an empty list answers nothing
                state = self._store.state()
                key_id = commitment.key_id.hex()
                if state.get(OPRF_KEYS, f"{self.member_id}/{key_id}") is None:
                    self._expect(
                        "pub.add_oprf_key",
                        add_oprf_key_body(key_id, index.public_key(list_type)),
                    )
                row: Any = state.get(PUB_INDEX, f"{self.member_id}/{list_type}")
                if isinstance(row, dict) and row.get("epoch", -1) >= commitment.epoch:
                    continue
                evidence = epoch_evidence(self._index_path.parent, list_type, commitment.epoch)
                expires_at = None if evidence is None else evidence.expires_at
                if expires_at is not None and expires_at <= time.time_ns() // 1_000_000 + _SKEW_MS:
                    # Every entry has expired: the next sync empties the list. Publishing
                    # it now would claim an in-date list the ledger refuses anyway.
                    log_event(_log, "index expired, not published", list_type=list_type)
                    continue
                if evidence is None:
                    log_event(
                        _log,
                        "index published without an evidence root",
                        logging.WARNING,
                        list_type=list_type,
                        epoch=commitment.epoch,
                    )
                self._expect(
                    "pub.publish_index",
                    publish_index_body(
                        list_type=list_type,
                        epoch=commitment.epoch,
                        size=commitment.size,
                        root=commitment.tags_root,
                        snapshot_digest=commitment.snapshot_digest,
                        key_id=key_id,
                        expires_at=expires_at,
                        evidence_root=None if evidence is None else evidence.evidence_root,
                    ),
                )
                done.append(list_type)
                log_event(
                    _log,
                    "index published",
                    list_type=list_type,
                    epoch=commitment.epoch,
                    size=commitment.size,
                    expires_at=expires_at,
                )
        finally:
            index.close()
        return done

    def _expect(self, kind: str, body: dict[str, Any]) -> None:
        result = self._submitter.submit(kind, body, wait=True)
        if not result.ok:
            raise GatewayError(f"{kind} refused: {result.reason}")

    # -- receipts ----------------------------------------------------------------------

    def drain(self, limit: int = 1000) -> int:
        """Submit stored answers as ``credits.receipt`` transactions; how many were sent."""
        rows = self._local.to_submit(limit)
        now = time.time_ns() // 1_000_000
        for row in rows:
            body = {
                "request": row.request,
                "request_sig": row.request_sig,
                "receipt": row.receipt,
                "receipt_sig": row.receipt_sig,
            }
            result = self._submitter.submit("credits.receipt", body, wait=False)
            if result.accepted:
                self._local.mark(row.receipt_id, "submitted", tx_id=result.tx_id)
                self._submitted_at[row.receipt_id] = now
            else:
                self._local.mark(row.receipt_id, "refused", reason=result.reason[:200])
                log_event(
                    _log,
                    "receipt refused",
                    logging.WARNING,
                    querier=row.querier,
                    items=row.items,
                    reason=result.reason[:200],
                )
        if rows and self._metrics is not None:
            self._metrics.receipts_submitted.inc(len(rows))
        return len(rows)

    def confirm(self) -> int:
        """Move submitted receipts whose block arrived to committed; resubmit lost ones."""
        done = 0
        now = time.time_ns() // 1_000_000
        for receipt_id, tx_id in self._local.in_state("submitted"):
            record = self._store.tx(tx_id) if tx_id else None
            if record is not None:
                state = "committed" if record.ok else "refused"
                self._local.mark(
                    receipt_id, state, height=record.height, reason=record.reason or None
                )
                self._submitted_at.pop(receipt_id, None)
                done += 1
            elif now - self._submitted_at.setdefault(receipt_id, now) > _RESUBMIT_MS:
                self._local.mark(receipt_id, "pending")
                self._submitted_at.pop(receipt_id, None)
        return done

    # -- refunds -----------------------------------------------------------------------

    def claim_refunds(self) -> int:
        claimed = 0
        state = self._store.state()
        for receipt_id, blinded, evaluated, proof, _ in self._local.refunds("waiting"):
            if state.get(RECEIPTS, receipt_id) is None:
                continue  # not recorded (yet): nothing was charged
            body = {
                "receipt": receipt_id,
                "blinded": decode_elements(blinded),
                "evaluated": decode_elements(evaluated),
                "proof": proof,
            }
            result = self._submitter.submit("credits.refund", body, wait=False)
            self._local.mark_refund(
                receipt_id, "submitted" if result.accepted else "refused", result.reason or None
            )
            claimed += 1
        return claimed

    # -- hits and settlements ------------------------------------------------------------

    def report_hits(self) -> int:
        """Submit the querier's hit reports whose receipts are recorded."""
        return self.hits.report(time.time_ns() // 1_000_000)

    def settle(self) -> int | None:
        """Propose the due epoch settlement when it is this gateway's turn."""
        return self.settler.tick(time.time_ns() // 1_000_000)
