"""Credits and evaluation as the local replica holds them (read-only).

Everything is read through token_incentive's views, which own the credits tables:

- The member's statement is its journal (``token_incentive.history``): every charge,
  refund and settlement, each with the balance after it, so the balance over time is
  exactly the journal's running balance (nothing is recomputed).
- The evaluation ranking of the last settled epoch is the recorded settlement
  (``token_incentive.last_settlement``). The provisional one for the epoch in progress is
  :func:`token_incentive.compute_settlement` run on the current state — what a
  settlement proposed now would carry, computed the way every replica would compute it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger import LedgerError, Store
from token_incentive import (
    CreditsError,
    JournalLine,
    SettlementView,
    balance_of,
    compute_settlement,
    history,
    last_settled_epoch,
    last_settlement,
    settlement_view,
)

__all__ = ["CreditsView", "RankingView", "credits_view", "ranking_view"]


@dataclass(frozen=True, slots=True)
class CreditsView:
    member: str
    balance: int
    settled: int
    journal: list[JournalLine]


def credits_view(store: Store, member: str) -> CreditsView:
    state = store.state()
    account = balance_of(state, member)
    return CreditsView(member, account.balance, account.settled, history(state, member))


@dataclass
class RankingView:
    settled: SettlementView | None = None
    provisional: SettlementView | None = None
    # Each ranked member's balance now, shown beside its rank.
    balances: dict[str, int] = field(default_factory=dict)
    problem: str = ""


def ranking_view(store: Store) -> RankingView:
    state = store.state()
    view = RankingView(settled=last_settlement(state))
    try:
        body = compute_settlement(state, last_settled_epoch(state) + 1)
    except (CreditsError, LedgerError, KeyError, TypeError) as exc:
        view.problem = f"the provisional settlement could not be computed: {exc}"
    else:
        view.provisional = settlement_view(body)
    for shown in (view.settled, view.provisional):
        for row in () if shown is None else shown.ranking:
            view.balances[row.member] = balance_of(state, row.member).balance
    return view
