"""Admission: may this member ask for this many items on this list, now?

The rule (DESIGN §6), which the gateway applies before evaluating anything and the
``credits.receipt`` handler applies again when the query is recorded:

- the querier is an active member of role ``member``;
- the list type is registered and priced, and the item count is in [1, max_items];
- **reciprocity**: the querier publishes a non-empty, in-date set for the list type —
  its ``pub.index`` row ``<querier>/<list_type>`` has ``size > 0`` and an
  ``expires_at`` that is ``None`` or later than now;
- **soft overdraft**: its live balance, less what answers not yet on the ledger will
  charge it, minus c_L·items stays >= −OD. The ledger charges every recorded answer
  whatever the balance then (``_contract``), so this rule is the only gate: a balance
  below −OD is a debt that refuses every further query.

Each failed rule raises :class:`AdmissionRefused` with a code naming it, so the gateway
can map it to a precise gRPC status. Pure: ``now`` is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger import IndexRow, Member, State, get_member, index_row, list_type_id_types
from token_incentive._book import get_account
from token_incentive._errors import AdmissionRefused
from token_incentive._params import CreditParams, params_from_state

__all__ = ["Admission", "admit", "admit_member", "published"]

# Written by the ledger's governance and publication contracts; read here.


@dataclass(frozen=True, slots=True)
class Admission:
    """An admitted query: what it will cost and the balance it leaves."""

    querier: str
    list_type: str
    items: int
    charge: int
    balance_after: int


def published(state: State, member: str, list_type: str, now: int) -> IndexRow:
    """``member``'s ``pub.index`` row for ``list_type`` if it is non-empty, in date and
    not suspended.

    A row is suspended when a complaint has shown that the snapshot the member serves
    contradicts it (``pub.complain``, :mod:`ledger._pub`): a list nobody can verify
    earns no query rights, until the member publishes a new epoch.

    Raises :class:`AdmissionRefused` (``not_publisher``, ``stale_list`` or
    ``suspended_list``) otherwise.
    """
    row = index_row(state, member, list_type)
    if row is None or row.size <= 0:
        raise AdmissionRefused("not_publisher", f"{member} publishes no non-empty {list_type} list")
    if row.expires_at is not None and row.expires_at <= now:
        raise AdmissionRefused(
            "stale_list", f"{member}'s {list_type} list expired at {row.expires_at} (now {now})"
        )
    if row.suspended is not None:
        raise AdmissionRefused(
            "suspended_list",
            f"{member}'s {list_type} list (epoch {row.epoch}) is suspended: the snapshot it"
            f" serves does not match its declaration (complaint at height"
            f" {row.suspended['height']}); publish a new epoch",
        )
    return row


def admit(
    state: State,
    querier: str,
    list_type: str,
    items: int,
    now: int,
    *,
    params: CreditParams | None = None,
) -> Admission:
    """Admit a query by ``querier`` of ``items`` items on ``list_type``, or raise why not."""
    p = params if params is not None else params_from_state(state)
    return admit_member(
        state, get_member(state, querier), querier, list_type, items, now, p, listed=None
    )


def admit_member(
    state: State,
    member: Member | None,
    querier: str,
    list_type: str,
    items: int,
    now: int,
    p: CreditParams,
    *,
    listed: bool | None,
    pending_charge: int = 0,
) -> Admission:
    """:func:`admit` for a querier already looked up (``member``, maybe ``None``).

    ``listed`` says whether ``list_type`` is registered, when the caller has read it;
    ``pending_charge`` is what answers not yet on the ledger will charge the querier.
    """
    if member is None or not member.active or member.role != "member":
        raise AdmissionRefused("not_member", f"{querier} is not an active member that may query")
    if listed is None:
        listed = list_type_id_types(state, list_type) is not None
    if list_type not in p.price or not listed:
        raise AdmissionRefused("unknown_list_type", f"{list_type!r} is not a priced list type")
    if isinstance(items, bool) or not isinstance(items, int) or not 1 <= items <= p.max_items:
        raise AdmissionRefused("bad_items", f"item count must be in [1, {p.max_items}]")
    published(state, querier, list_type, now)
    charge = p.price[list_type] * items
    balance = get_account(state, querier).balance - pending_charge
    if balance - charge < -p.overdraft:
        pending = f" (after {pending_charge} not yet recorded)" if pending_charge else ""
        raise AdmissionRefused(
            "over_overdraft",
            f"{querier}'s balance {balance}{pending} less the price {charge} would pass the "
            f"overdraft of {p.overdraft} milli-credits",
        )
    return Admission(querier, list_type, items, charge, balance - charge)
