"""Proposing each epoch's settlement (``credits.settle``) when it falls due.

Any member or observer may propose the settlement of the next unsettled epoch once its
feedback window has closed (docs/CREDITS.md); the body must equal what every replica
computes (``token_incentive.settlement_proposal``), so whoever proposes it, the result
is the same. Rules, so that one gateway normally proposes and the rest stay quiet:

- the proposers are the active members of role ``member`` or ``observer``, sorted by
  id; for epoch t the one at position ``t mod n`` goes first, the next one
  ``stagger`` later, and so on round the list (each gateway counts from the moment it
  first sees the epoch due on its own replica);
- a gateway whose turn has come proposes, then waits ``retry`` before proposing again
  if the epoch is still unsettled (its transaction may have been refused because
  another proposal landed first, or lost with the orderer);
- two proposals for one epoch are harmless: the second is refused as a settled epoch.
"""

from __future__ import annotations

import logging
from typing import Any

from gateway._ledger_client import TxSubmitter
from gateway._log import log_event
from ledger import Store, active_members
from token_incentive import CreditsError, settlement_due, settlement_proposal

__all__ = ["PROPOSER_ROLES", "Settler", "proposer_rank"]

_log = logging.getLogger("riskshare.gateway.settle")

PROPOSER_ROLES = frozenset({"member", "observer"})


def proposer_rank(state: Any, member_id: str, epoch: int) -> int | None:
    """This member's turn (0 = first) to propose epoch ``epoch``; None if it may not."""
    ids = sorted(m.id for m in active_members(state) if m.role in PROPOSER_ROLES)
    if member_id not in ids:
        return None
    return (ids.index(member_id) - epoch) % len(ids)


class Settler:
    def __init__(
        self,
        member_id: str,
        store: Store,
        submitter: TxSubmitter,
        *,
        stagger_ms: int = 3_000,
        retry_ms: int = 10_000,
    ) -> None:
        self.member_id = member_id
        self._store = store
        self._submitter = submitter
        self._stagger = stagger_ms
        self._retry = retry_ms
        self._first_due: dict[int, int] = {}
        self._last_try: dict[int, int] = {}

    def tick(self, now_ms: int) -> int | None:
        """Propose the due settlement if it is this gateway's turn; the epoch proposed."""
        state = self._store.state()
        epoch = settlement_due(state, now_ms)
        if epoch is None:
            return None
        rank = proposer_rank(state, self.member_id, epoch)
        if rank is None:
            return None
        first = self._first_due.setdefault(epoch, now_ms)
        if now_ms < first + rank * self._stagger:
            return None
        if now_ms - self._last_try.get(epoch, -self._retry) < self._retry:
            return None
        try:
            body = settlement_proposal(state, now_ms)
        except CreditsError as exc:
            log_event(_log, "settlement not computable", logging.WARNING, reason=str(exc)[:200])
            return None
        if body is None:
            return None
        self._last_try[epoch] = now_ms
        # Earlier epochs are settled: forget them.
        for old in [e for e in self._first_due if e < epoch]:
            self._first_due.pop(old, None)
            self._last_try.pop(old, None)
        result = self._submitter.submit("credits.settle", body, wait=False)
        log_event(
            _log,
            "settlement proposed",
            epoch=epoch,
            rank=rank,
            accepted=result.accepted,
            reason=result.reason[:200],
        )
        return epoch
