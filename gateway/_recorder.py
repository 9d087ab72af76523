"""What the gateway writes to the ledger on its own: index commitments, query receipts,
refund claims, hit reports, settlement proposals.

- **Publishing.** One path, serialised: the background loop and an operator's
  ``ReloadIndex`` both call :meth:`Recorder.publish`, which holds a lock and remembers
  what it committed until the replica shows it, so two callers never both submit one
  epoch (the second used to be refused by the ledger as a duplicate). When the
  member's index (``index.sqlite``, written by ``riskshare lists import/sync``) has an
  epoch the ledger does not show yet, the OPRF key is registered (``pub.add_oprf_key``,
  key id = hex of psi's key id) if it is new, and the epoch committed
  (``pub.publish_index``) with the evidence root of the list epoch it came from and the
  list's expiry (``gateway._evidence``). Queriers trust only these records; disputes are
  opened against the evidence root.
- **Receipts.** Every answer a worker stored is recorded as ``credits.receipt`` (the
  querier's signed request and our signed receipt), which charges the querier
  whatever its standing now (the receipt is a fact; ``token_incentive``); the ledger
  keeps the OPRF key the request named, against which a refund claim is judged. Rows go
  pending → submitted → committed (or refused, with the ledger's reason). A submitted
  transaction that never lands is submitted again later; the ledger refuses a second
  recording of one request, so nobody is charged twice. Whether a receipt is on the
  ledger is read from the ledger's receipts table, not from this gateway's memory of
  what it sent: a gateway killed between submitting and noting it (or an answer to a
  submission lost with the orderer) finds its receipt recorded and marks it committed,
  rather than resubmitting it and taking the refusal of the duplicate for a refusal.
- **Refunds.** An answer whose proof did not verify is claimed back with
  ``credits.refund`` once the responder's receipt for it is on the ledger.
- **Hits** (``gateway._hits``) and **settlements** (``gateway._settle``): the querier's
  hit reports once their receipts are recorded, and the epoch settlement when it is
  due and this gateway's turn.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from gateway._errors import LedgerRefusedError
from gateway._evidence import epoch_evidence
from gateway._hits import HitReporter
from gateway._ledger_client import TxSubmitter
from gateway._localstate import LocalState
from gateway._log import log_event
from gateway._rotation import KEY_GRACE_MS, RetainedKeys
from gateway._settle import Settler
from ledger import Store, add_oprf_key_body, publish_index_body, retire_oprf_key_body
from psi import IndexStore, decode_elements

__all__ = ["Recorder"]

_log = logging.getLogger("riskshare.gateway.recorder")

PUB_INDEX, OPRF_KEYS, RECEIPTS = "pub.index", "pub.oprf_keys", "credits.receipts"
_RESUBMIT_MS = 30_000
# A transaction the orderer accepted goes into the block open at that moment or the
# next one. Once our replica holds a block the orderer stamped this long after we
# submitted, without the transaction, the orderer no longer holds it (it was
# restarted): submit again without waiting out _RESUBMIT_MS. Block times, not heights:
# a replica catching up applies many blocks at once, all older than the submission.
_RESUBMIT_AFTER_MS = 5_000
# How long a refusal is checked against the ledger again: refused as a duplicate while
# our replica was still catching up (after a restart) means the receipt is recorded.
_RECHECK_MS = 60_000
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
        retained: RetainedKeys | None = None,
    ) -> None:
        self.member_id = member_id
        self._store = store
        self._local = local
        self._submitter = submitter
        self._index_path = index_path
        self._metrics = metrics
        self._retained = retained
        self._publishing = threading.Lock()
        # What this process committed and the replica may not show yet: key ids
        # registered, and the last epoch published per list type.
        self._keys_added: set[str] = set()
        self._epochs: dict[str, int] = {}
        self._submitted_at: dict[str, int] = {}  # receipt id -> when last submitted
        self._refused: dict[str, int] = {}  # receipt id -> when this process saw it refused
        self.hits = HitReporter(member_id, store, local, submitter)
        self.settler = Settler(member_id, store, submitter)

    # -- index commitments -------------------------------------------------------------

    def publish(self) -> list[str]:
        """Commit every index epoch the ledger does not show yet; the list types done."""
        with self._publishing:
            return self._publish()

    def _publish(self) -> list[str]:
        self.retire_keys(time.time_ns() // 1_000_000)
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
                known = state.get(OPRF_KEYS, f"{self.member_id}/{key_id}") is not None
                if not known and key_id not in self._keys_added:
                    self._expect(
                        "pub.add_oprf_key",
                        add_oprf_key_body(key_id, index.public_key(list_type)),
                    )
                    self._keys_added.add(key_id)
                row: Any = state.get(PUB_INDEX, f"{self.member_id}/{list_type}")
                shown = row.get("epoch", -1) if isinstance(row, dict) else -1
                if max(shown, self._epochs.get(list_type, -1)) >= commitment.epoch:
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
                self._epochs[list_type] = commitment.epoch
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

    def retire_keys(self, now_ms: int) -> list[str]:
        """Retire the OPRF keys kept from a rotation once their grace ran out; their ids.

        A kept key is retired ``KEY_GRACE_MS`` after an epoch under another key was
        published for its list (``gateway._rotation``), and not before every answer made
        under it is on the ledger: a receipt naming a retired key is refused, so
        retiring first would forfeit the charges of answers given correctly (a ledger
        outage longer than the grace leaves such a backlog). Then its secret is deleted.
        """
        if self._retained is None:
            return []
        retired = []
        for key_id, list_type in self._retained.held():
            state = self._store.state()
            row: Any = state.get(PUB_INDEX, f"{self.member_id}/{list_type}")
            if not isinstance(row, dict) or row.get("key_id") == key_id:
                continue  # still the published key: the new epoch is not on the ledger yet
            if now_ms - int(row.get("published_at", now_ms)) < KEY_GRACE_MS:
                continue
            if self._local.unrecorded(key_id):
                continue  # drain() records them first; retired next time round
            oprf: Any = state.get(OPRF_KEYS, f"{self.member_id}/{key_id}")
            if isinstance(oprf, dict) and oprf.get("active") is True:
                result = self._submitter.submit("pub.retire_oprf_key", retire_oprf_key_body(key_id))
                if not result.ok:
                    log_event(_log, "key not retired", logging.WARNING, reason=result.reason[:200])
                    continue
            self._retained.drop(key_id)
            retired.append(key_id)
            log_event(_log, "old OPRF key retired", list_type=list_type, key_id=key_id[:16])
        return retired

    def _expect(self, kind: str, body: dict[str, Any]) -> None:
        result = self._submitter.submit(kind, body, wait=True)
        if not result.ok:
            # Not secret (every replica computes the same reason): the log says why.
            log_event(
                _log, "ledger refused", logging.WARNING, kind=kind, reason=result.reason[:200]
            )
            raise LedgerRefusedError(f"{kind} refused: {result.reason}")

    # -- receipts ----------------------------------------------------------------------

    def _recorded_at(self, receipt_id: str) -> int | None:
        """The height at which the ledger recorded our receipt for this answer, if it did."""
        row: Any = self._store.state().get(RECEIPTS, receipt_id)
        if isinstance(row, dict) and row.get("responder") == self.member_id:
            return int(row["height"])
        return None

    def drain(self, limit: int = 1000) -> int:
        """Submit stored answers as ``credits.receipt`` transactions; how many were sent."""
        now = time.time_ns() // 1_000_000
        self._local.release_stale(now)
        rows = self._local.to_submit(limit)
        for row in rows:
            height = self._recorded_at(row.receipt_id)
            if height is not None:
                self._local.mark(row.receipt_id, "committed", height=height)
                continue
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
            elif (height := self._recorded_at(row.receipt_id)) is not None:
                self._local.mark(row.receipt_id, "committed", height=height)
            else:
                self._local.mark(row.receipt_id, "refused", reason=result.reason[:200])
                self._refused[row.receipt_id] = now
                # The ledger records every answer it can verify, so a refusal means an
                # answer given and not charged: a defect or a forged receipt, never routine.
                log_event(
                    _log,
                    "receipt refused",
                    logging.ERROR,
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
        for receipt_id, since in list(self._refused.items()):
            height = self._recorded_at(receipt_id)
            if height is not None:
                self._local.mark(receipt_id, "committed", height=height)
                log_event(_log, "refused receipt found recorded", height=height)
            if height is not None or now - since > _RECHECK_MS:
                del self._refused[receipt_id]
        for receipt_id, tx_id in self._local.in_state("submitted"):
            record = self._store.tx(tx_id) if tx_id else None
            height = None if record is not None and record.ok else self._recorded_at(receipt_id)
            if height is not None:
                # Recorded by another of our submissions of it (this one was refused as
                # the duplicate, or is still to come and will be).
                self._local.mark(receipt_id, "committed", height=height)
                self._submitted_at.pop(receipt_id, None)
                done += 1
            elif record is not None:
                state = "committed" if record.ok else "refused"
                self._local.mark(
                    receipt_id, state, height=record.height, reason=record.reason or None
                )
                self._submitted_at.pop(receipt_id, None)
                done += 1
            elif self._lost(receipt_id, now):
                self._local.mark(receipt_id, "pending")
                self._submitted_at.pop(receipt_id, None)
        return done

    def _lost(self, receipt_id: str, now: int) -> bool:
        since = self._submitted_at.setdefault(receipt_id, now)
        head = self._store.head()
        later = head is not None and head.time >= since + _RESUBMIT_AFTER_MS
        return now - since > _RESUBMIT_MS or later

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
