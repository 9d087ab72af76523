"""Credits and evaluation as the local replica holds them (read-only).

- The member's statement is the ``credits.journal`` rows under its id: every charge,
  refund and settlement, each with the balance after it, so the balance over time is
  exactly the journal's running balance (nothing is recomputed).
- The evaluation ranking of the last settled epoch is the one in ``credits.settlements``.
  The provisional one for the epoch in progress is :func:`token_incentive.compute_settlement`
  run on the current state — what a settlement proposed now would carry, computed the
  way every replica would compute it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ledger import LedgerError, Store, StoreState
from token_incentive import CreditsError, compute_settlement

__all__ = [
    "CreditsView",
    "JournalEntry",
    "RankRow",
    "RankingView",
    "SettlementEntry",
    "credits_view",
    "ranking_view",
]

ACCOUNTS = "credits.accounts"
JOURNAL = "credits.journal"
SETTLEMENTS = "credits.settlements"
META = "credits.meta"
COMPONENTS = ("grant", "served", "hits", "charges", "decay", "cap", "penalty", "delta")


@dataclass(frozen=True, slots=True)
class JournalEntry:
    number: int
    height: int
    time: int
    kind: str
    ref: str
    amount: int
    balance: int


@dataclass
class CreditsView:
    member: str
    balance: int = 0
    settled: int = 0
    journal: list[JournalEntry] = field(default_factory=list)


def _account(state: StoreState, member: str) -> tuple[int, int]:
    row: Any = state.get(ACCOUNTS, member)
    if not isinstance(row, dict):
        return 0, 0
    return int(row.get("balance", 0)), int(row.get("settled", 0))


def credits_view(store: Store, member: str) -> CreditsView:
    state = store.state()
    balance, settled = _account(state, member)
    view = CreditsView(member, balance, settled)
    prefix = member + "/"
    for key, row in state.scan(JOURNAL, prefix):
        r: Any = row
        view.journal.append(
            JournalEntry(
                number=int(key[len(prefix) :]),
                height=int(r["height"]),
                time=int(r["time"]),
                kind=str(r["kind"]),
                ref=str(r["ref"]),
                amount=int(r["amount"]),
                balance=int(r["balance"]),
            )
        )
    return view


@dataclass(frozen=True, slots=True)
class RankRow:
    rank: int
    member: str
    tp: int
    fp: int
    quality: Fraction
    balance: int


@dataclass(frozen=True, slots=True)
class SettlementEntry:
    member: str
    amounts: dict[str, int]


@dataclass
class RankingView:
    settled_epoch: int | None = None
    settled_time: int | None = None
    settled: list[RankRow] = field(default_factory=list)
    settled_entries: list[SettlementEntry] = field(default_factory=list)
    provisional_epoch: int | None = None
    provisional_span: tuple[int, int] | None = None
    provisional: list[RankRow] = field(default_factory=list)
    provisional_entries: list[SettlementEntry] = field(default_factory=list)
    problem: str = ""


def _rows(state: StoreState, ranking: Any) -> list[RankRow]:
    out = []
    for r in ranking or []:
        q = r["q"]
        out.append(
            RankRow(
                rank=int(r["rank"]),
                member=str(r["member"]),
                tp=int(r["tp"]),
                fp=int(r["fp"]),
                quality=Fraction(int(q[0]), int(q[1])),
                balance=_account(state, str(r["member"]))[0],
            )
        )
    return out


def _entries(body: Any) -> list[SettlementEntry]:
    return [
        SettlementEntry(str(e["member"]), {c: int(e.get(c, 0)) for c in COMPONENTS})
        for e in body.get("entries", [])
    ]


def ranking_view(store: Store) -> RankingView:
    state = store.state()
    view = RankingView()
    last: Any = None
    for key, row in state.scan(SETTLEMENTS):
        last = (key, row)
    if last is not None:
        body = last[1]
        view.settled_epoch = int(body["epoch"])
        view.settled_time = int(body.get("time", 0)) or None
        view.settled = _rows(state, body.get("ranking"))
        view.settled_entries = _entries(body)
    settled = state.get(META, "last_settled")
    epoch = (settled if isinstance(settled, int) else -1) + 1
    try:
        body = compute_settlement(state, epoch)
    except (CreditsError, LedgerError, KeyError, TypeError) as exc:
        view.problem = f"the provisional settlement could not be computed: {exc}"
        return view
    b: Any = body
    view.provisional_epoch = epoch
    view.provisional_span = (int(b["start"]), int(b["end"]))
    view.provisional = _rows(state, b.get("ranking"))
    view.provisional_entries = _entries(b)
    return view
