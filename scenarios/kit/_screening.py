"""Screening receipts: a scenario step backed by a real riskshare query.

A ``Screening`` payload field names a ``credits.receipt`` — a query the member made
through its gateway against another member's list, answered and recorded by the
responder (the querier never learns more than yes or no; the ledger holds neither the
identifier nor the answer, only that the query was made, by whom, of what list and
when). :func:`use_screening` lets a step consume it, in this order:

1. the receipt is recorded on the ledger, of a list (not a fingerprint evaluation),
   and still ``recorded`` (not refunded);
2. the member taking the step made the query (a receipt is not transferable);
3. it is fresh: answered at most :data:`SCREENING_TTL_MS` before the step;
4. one receipt backs as many steps as it covered identifiers, and no more: a batch
   query of 100 applicants screens 100 loans. The scenario's own table
   ``<contract>.screenings`` counts the uses (a contract writes only its own tables).
"""

from __future__ import annotations

from typing import Any

from ledger import ContractError, State
from scenarios.kit._dates import MS_PER_DAY
from scenarios.kit._fpservice import FINGERPRINT_LIST_TYPE
from token_incentive import recorded_receipt

__all__ = ["SCREENING_TTL_MS", "use_screening"]

SCREENING_TTL_MS = 30 * MS_PER_DAY


def use_screening(state: State, used_table: str, receipt: str, member: str, now: int) -> int:
    """Consume one item of ``member``'s recorded query ``receipt``; the items left."""
    row = recorded_receipt(state, receipt)
    if row is None or row.list_type == FINGERPRINT_LIST_TYPE:
        raise ContractError(f"no recorded screening query {receipt!r}")
    if row.status != "recorded":
        raise ContractError(f"the screening query {receipt!r} was {row.status}")
    if row.querier != member:
        raise ContractError("the screening query was made by another member")
    if now - row.time > SCREENING_TTL_MS:
        raise ContractError("the screening query is older than 30 days; screen again")
    used: Any = state.get(used_table, receipt)
    count = used["used"] if isinstance(used, dict) else 0
    if count >= row.items:
        raise ContractError(
            f"the screening query covered {row.items} identifiers, all already used"
        )
    state.put(used_table, receipt, {"member": member, "used": count + 1})
    return row.items - count - 1
