"""Reporting what hit: the querier's ``credits.hits`` transactions (docs/CREDITS.md).

A responder never learns whether its answer hit, so the querier reports it. After each
query the querier's gateway keeps, for every identifier that hit, the receipt ids of
the responders that said yes to it (``token_incentive.hit_report``: one receipt for a
directed query, every yes-sayer of a broadcast, which gives each hit its k). Only
receipt ids are kept, never an identifier.

The report can go on the ledger only once the receipts it names are recorded, and the
responders record them on their own schedule. Rules:

- a report waits until every receipt it names is on the local replica, then is
  submitted once (signed by this member's ledger key, under its sequence numbers);
- a receipt that is still not recorded an hour after the query (``_STRAGGLER_MS``: a
  responder whose recorder is held up by a ledger outage) is left out and the rest is
  reported, so each remaining hit's k counts only yes-sayers recorded by then. The
  straggler is still charged when its responder records it (a receipt records a fact,
  ``token_incentive``), but its hit goes unreported: waiting longer would hold every
  other responder's hit reward back with it;
- a receipt recorded but not open for hits (refunded, or its hits reported already) is
  left out the same way; a report left with nothing is dropped;
- a submission that never lands in a block is submitted again; one refused in its
  block is kept as refused with the ledger's reason (shown by ``gateway status``).
"""

from __future__ import annotations

import logging
from typing import Any

from gateway._ledger_client import TxSubmitter
from gateway._localstate import LocalState
from gateway._log import log_event
from ledger import Store
from token_incentive import CreditsError, hits_body, recorded_receipt

__all__ = ["HitReporter"]

_log = logging.getLogger("riskshare.gateway.hits")

# How long a report waits for the receipts of responders that have not recorded yet.
_STRAGGLER_MS = 60 * 60_000
_RESUBMIT_MS = 30_000


class HitReporter:
    def __init__(
        self, member_id: str, store: Store, local: LocalState, submitter: TxSubmitter
    ) -> None:
        self.member_id = member_id
        self._store = store
        self._local = local
        self._submitter = submitter

    def _open(self, receipt_id: str, state: Any) -> bool | None:
        """True: recorded and open for hits; False: recorded, closed; None: not recorded."""
        row = recorded_receipt(state, receipt_id)
        return None if row is None else row.open_for_hits(self.member_id)

    def report(self, now_ms: int) -> int:
        """Submit every report whose receipts are settled; how many were submitted."""
        sent = 0
        self._confirm(now_ms)
        waiting = self._local.hit_reports("waiting")
        if not waiting:
            return 0
        state = self._store.state()
        for report in waiting:
            status = {rid: self._open(rid, state) for item in report.items for rid in item}
            expired = now_ms - report.created_ms > _STRAGGLER_MS
            if not expired and any(s is None for s in status.values()):
                continue  # some responder has not recorded its receipt yet
            items = [[rid for rid in item if status[rid]] for item in report.items]
            items = [item for item in items if item]
            if not items:
                self._local.mark_hit_report(report.id, "dropped", reason="no receipt open")
                continue
            try:
                body = hits_body(items)
            except CreditsError as exc:
                self._local.mark_hit_report(report.id, "dropped", reason=str(exc)[:200])
                continue
            result = self._submitter.submit("credits.hits", body, wait=False)
            if result.accepted:
                self._local.mark_hit_report(
                    report.id, "submitted", items=items, tx_id=result.tx_id, now_ms=now_ms
                )
                sent += 1
            else:
                self._local.mark_hit_report(report.id, "refused", reason=result.reason[:200])
                log_event(_log, "hit report refused", logging.WARNING, reason=result.reason[:200])
        return sent

    def _confirm(self, now_ms: int) -> None:
        for report in self._local.hit_reports("submitted"):
            record = self._store.tx(report.tx_id) if report.tx_id else None
            if record is not None:
                self._local.mark_hit_report(
                    report.id,
                    "committed" if record.ok else "refused",
                    tx_id=report.tx_id,
                    now_ms=report.submitted_ms,
                    reason=record.reason or None,
                )
            elif now_ms - (report.submitted_ms or now_ms) > _RESUBMIT_MS:
                self._local.mark_hit_report(report.id, "waiting")
