"""Screening receipts: a step that requires a risk-sharing check reads its receipt.

A scenario guard such as "a policy is issued only after the applicant was screened in
the last N days" (SCENARIOS.md §2b) or "a loan is approved only after it was screened"
(§1) names the receipt of a risk-sharing query its member made (the id
``riskshare query`` prints). The receipt is on the shared ledger already — the
responder recorded it and charged for it (``credits.receipt``) — so every replica can
check, from state alone, that it exists, that the member itself asked, that it was a
list query and not a fingerprint evaluation, that it was not refunded, and how old it
is. What it answered stays with the member (the ledger never holds hits); a hit is for
a person to review, never a refusal (the UK Insurance Fraud Register principle), so
the scenario records the member's own reading of it as data.

:func:`screening_receipt` checks a receipt; :func:`use_screening` also consumes it: one
receipt backs as many steps as it covered identifiers, and no more (a batch query of
100 applicants screens 100 loans), counted in the scenario's own table
``<contract>.screenings`` (a contract writes only its own tables).
"""

from __future__ import annotations

from typing import Any

from ledger import ContractError, State
from scenarios.kit._dates import MS_PER_DAY
from scenarios.kit._fpservice import FINGERPRINT_LIST_TYPE
from token_incentive import RecordedReceipt, recorded_receipt

__all__ = ["SCREENING_TTL_MS", "screening_receipt", "use_screening"]

SCREENING_TTL_MS = 30 * MS_PER_DAY


def screening_receipt(
    state: State, receipt_id: str, member: str, now_ms: int, max_age_days: int
) -> RecordedReceipt:
    """The recorded list query ``receipt_id`` of ``member``, no older than
    ``max_age_days`` at ``now_ms``; refuse, naming why, anything else."""
    row = recorded_receipt(state, receipt_id)
    if row is None:
        raise ContractError(f"no recorded screening receipt {receipt_id!r}")
    if row.list_type == FINGERPRINT_LIST_TYPE:
        raise ContractError("a fingerprint evaluation is not a screening receipt")
    if row.querier != member:
        raise ContractError(f"screening receipt {receipt_id!r} is another member's query")
    if row.status != "recorded":
        raise ContractError(f"screening receipt {receipt_id!r} was {row.status}")
    if row.time > now_ms:
        raise ContractError(f"screening receipt {receipt_id!r} is recorded after this step")
    if now_ms - row.time > max_age_days * MS_PER_DAY:
        raise ContractError(
            f"screening receipt {receipt_id!r} is older than {max_age_days} days; screen again"
        )
    return row


def use_screening(state: State, used_table: str, receipt: str, member: str, now: int) -> int:
    """Consume one item of ``member``'s recorded query ``receipt`` (at most
    :data:`SCREENING_TTL_MS` old); the items left."""
    row = screening_receipt(state, receipt, member, now, SCREENING_TTL_MS // MS_PER_DAY)
    used: Any = state.get(used_table, receipt)
    count = used["used"] if isinstance(used, dict) else 0
    if count >= row.items:
        raise ContractError(
            f"the screening query covered {row.items} identifiers, all already used"
        )
    state.put(used_table, receipt, {"member": member, "used": count + 1})
    return row.items - count - 1
