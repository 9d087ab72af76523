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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway._errors import LedgerRefusedError
from gateway._evidence import epoch_evidence
from gateway._hits import HitReporter
from gateway._ledger_client import TxSubmitter
from gateway._localstate import LocalState
from gateway._log import log_event
from gateway._recording import (
    Confirmation,
    Retirement,
    after_submit,
    confirm_submitted,
    plan_publication,
    plan_retirement,
    recheck_refused,
)
from gateway._rotation import KEY_GRACE_MS, RetainedKeys
from gateway._settle import Settler
from ledger import (
    Store,
    add_oprf_key_body,
    index_row,
    now_ms,
    oprf_key,
    publish_index_body,
    retire_oprf_key_body,
)
from psi import IndexStore, decode_elements
from token_incentive import (
    SignedReceipt,
    SignedRequest,
    receipt_body,
    recorded_receipt,
    refund_body,
)

__all__ = ["Recorder"]

_log = logging.getLogger("riskshare.gateway.recorder")


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
        clock_ms: Callable[[], int] = now_ms,
    ) -> None:
        self.member_id = member_id
        self._clock = clock_ms
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
        now = self._clock()
        self.retire_keys(now)
        if not self._index_path.exists():
            return []
        done = []
        index = IndexStore(self._index_path, pool=None)
        try:
            for list_type in index.list_types():
                commitment = index.commitment(list_type)
                key_id = commitment.key_id.hex()
                state = self._store.state()
                row = index_row(state, self.member_id, list_type)
                shown = -1 if row is None else row.epoch
                here = self._epochs.get(list_type, -1)
                # The evidence (a read of lists.sqlite) only for an epoch still to publish.
                evidence = (
                    epoch_evidence(self._index_path.parent, list_type, commitment.epoch)
                    if commitment.epoch > max(shown, here)
                    else None
                )
                expires_at = None if evidence is None else evidence.expires_at
                plan = plan_publication(
                    epoch=commitment.epoch,
                    size=commitment.size,
                    key_shown=oprf_key(state, self.member_id, key_id) is not None,
                    key_added_here=key_id in self._keys_added,
                    shown_epoch=shown,
                    published_here=here,
                    expires_at=expires_at,
                    now=now,
                )
                if plan.register_key:
                    self._expect(
                        "pub.add_oprf_key", add_oprf_key_body(key_id, index.public_key(list_type))
                    )
                    self._keys_added.add(key_id)
                if plan.skipped == "expired":
                    log_event(_log, "index expired, not published", list_type=list_type)
                if not plan.publish:
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
        """Retire the OPRF keys kept from a rotation whose time has come; their ids.

        ``gateway._recording.plan_retirement`` decides: ``KEY_GRACE_MS`` after an epoch
        under another key was published for its list, once every answer made under it is
        on the ledger (a refund is judged against the key an answer named). Then its
        secret is deleted.
        """
        if self._retained is None:
            return []
        retired = []
        for key_id, list_type in self._retained.held():
            state = self._store.state()
            row = index_row(state, self.member_id, list_type)
            oprf = oprf_key(state, self.member_id, key_id)
            decision = plan_retirement(
                key_id=key_id,
                published_key_id=None if row is None else row.key_id,
                published_at=None if row is None else row.published_at,
                grace_ms=KEY_GRACE_MS,
                unrecorded=self._local.unrecorded(key_id),
                active_on_ledger=oprf is not None and oprf.active,
                now=now_ms,
            )
            if decision is Retirement.WAIT:
                continue
            if decision is Retirement.SUBMIT:
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
        row = recorded_receipt(self._store.state(), receipt_id)
        if row is not None and row.responder == self.member_id:
            return row.height
        return None

    def drain(self, limit: int = 1000) -> int:
        """Submit stored answers as ``credits.receipt`` transactions; how many were sent."""
        now = self._clock()
        self._local.release_stale(now)
        rows = self._local.to_submit(limit)
        for row in rows:
            height = self._recorded_at(row.receipt_id)
            if height is not None:
                self._local.mark(row.receipt_id, "committed", height=height)
                continue
            body = receipt_body(
                SignedRequest.from_parts(row.request, row.request_sig),
                SignedReceipt.from_parts(row.receipt, row.receipt_sig),
            )
            result = self._submitter.submit("credits.receipt", body, wait=False)
            mark = after_submit(
                accepted=result.accepted,
                recorded_height=None if result.accepted else self._recorded_at(row.receipt_id),
                reason=result.reason,
            )
            self._local.mark(
                row.receipt_id,
                mark.state,
                tx_id=result.tx_id or None,
                height=mark.height,
                reason=mark.reason,
            )
            if mark.state == "submitted":
                self._submitted_at[row.receipt_id] = now
            elif mark.state == "refused":
                self._refused[row.receipt_id] = now
                # The ledger records every answer it can verify, so a refusal means an
                # answer given and not charged: a defect or a forged receipt, never routine.
                log_event(
                    _log,
                    "receipt refused",
                    logging.ERROR,
                    querier=row.querier,
                    items=row.items,
                    reason=mark.reason,
                )
        if rows and self._metrics is not None:
            self._metrics.receipts_submitted.inc(len(rows))
        return len(rows)

    def confirm(self) -> int:
        """Move submitted receipts whose block arrived to committed; resubmit lost ones."""
        done = 0
        now = self._clock()
        for receipt_id, since in list(self._refused.items()):
            height = self._recorded_at(receipt_id)
            if height is not None:
                self._local.mark(receipt_id, "committed", height=height)
                log_event(_log, "refused receipt found recorded", height=height)
            if recheck_refused(recorded_height=height, refused_at=since, now=now):
                del self._refused[receipt_id]
        head = self._store.head()
        for receipt_id, tx_id in self._local.in_state("submitted"):
            record = self._store.tx(tx_id) if tx_id else None
            decision, mark = confirm_submitted(
                tx_height=None if record is None else record.height,
                tx_ok=None if record is None else record.ok,
                tx_reason="" if record is None else record.reason,
                recorded_height=self._recorded_at(receipt_id),
                submitted_at=self._submitted_at.setdefault(receipt_id, now),
                head_time=None if head is None else head.time,
                now=now,
            )
            if mark is None:
                continue
            self._local.mark(receipt_id, mark.state, height=mark.height, reason=mark.reason)
            self._submitted_at.pop(receipt_id, None)
            done += decision is Confirmation.DONE
        return done

    # -- refunds -----------------------------------------------------------------------

    def claim_refunds(self) -> int:
        claimed = 0
        state = self._store.state()
        for receipt_id, blinded, evaluated, proof, _ in self._local.refunds("waiting"):
            if recorded_receipt(state, receipt_id) is None:
                continue  # not recorded (yet): nothing was charged
            body = refund_body(
                receipt_id, decode_elements(blinded), decode_elements(evaluated), proof
            )
            result = self._submitter.submit("credits.refund", body, wait=False)
            self._local.mark_refund(
                receipt_id, "submitted" if result.accepted else "refused", result.reason or None
            )
            claimed += 1
        return claimed

    # -- hits and settlements ------------------------------------------------------------

    def report_hits(self) -> int:
        """Submit the querier's hit reports whose receipts are recorded."""
        return self.hits.report(self._clock())

    def settle(self) -> int | None:
        """Propose the due epoch settlement when it is this gateway's turn."""
        return self.settler.tick(self._clock())
