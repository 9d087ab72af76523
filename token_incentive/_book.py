"""The credits contract's tables, and the bookkeeping every handler shares.

Tables (all owned by the ``credits`` contract; keys are text, values plain CBOR):

- ``credits.accounts``: member → ``{"balance", "settled", "entries"}``. ``balance`` is
  the live balance in milli-credits. ``settled`` is B(t), the balance at the start of
  the first unsettled epoch t as DESIGN §6's recurrence defines it — what the next
  settlement decays. ``balance = settled − (net charges of epochs >= t)``: between
  settlements only charges and refunds move ``balance``, so
  ``balance <= settled <= cap`` always holds. ``entries`` counts journal rows.
- ``credits.spent``: ``<epoch:012d>/<member>`` → the member's net charges (charges less
  refunds) for queries recorded in the epoch; settlement takes them out of ``settled``.
- ``credits.journal``: ``<member>/<n:012d>`` → one balance movement ``{"height",
  "time", "tx", "kind", "ref", "amount", "balance", "detail"}``: the member's statement;
  ``kind`` is ``charge`` or ``refund`` (``ref`` a receipt id) or ``settle`` (``ref`` the
  epoch, ``detail`` its components).
- ``credits.receipts``: receipt id → the recorded query (``_contract``).
- ``credits.served``: ``<epoch:012d>/<responder>/<querier>`` → items served in the epoch.
- ``credits.epoch_hits``: ``<epoch:012d>/<receipt id>`` → 1, receipts of an epoch with hits.
- ``credits.disputes``: receipt id → a dispute object (``_evaluation``).
- ``credits.queue``: ``<epoch:012d>/<receipt id>`` → 1, a dispute resolved in that
  epoch, waiting for the settlement of that epoch to account it.
- ``credits.quality``: member → ``{"tp", "fp"}``, cumulative, as of the last settlement.
- ``credits.settlements``: ``<epoch:012d>`` → the settlement as applied (with ranking).
- ``credits.canaries``: commitment hex → a canary commitment (``_evaluation``).
- ``credits.canary_probes``: ``<epoch:012d>/<observer>/<responder>`` → canary probe
  elements recorded free in the epoch (at most the observer's open canaries).
- ``credits.delist``: ``<holder>/<list type>/<receipt id>`` → an obligation to delist.
- ``credits.watches``: ``<watcher>/<responder>/<list type>`` → the latest watch
  evaluation's size, epoch, term and key (``_watch``).
- ``credits.meta``: ``"schedule"`` → epoch segments; ``"last_settled"`` → the last
  settled epoch; ``"totals"`` → the conservation counters.

Epochs: the schedule is a list of segments ``[first_epoch, origin_ms, length_ms]``.
Epoch ``t`` of the last segment with ``first <= t`` spans
``[origin + (t - first)·length, origin + (t - first + 1)·length)``. When governance
changes ``credits.epoch_ms``, a new segment starts at the end of the current epoch, so
an epoch, once begun, keeps its bounds. The first segment starts at the consortium's
genesis time.

Conservation: ``totals`` counts every milli-credit that enters or leaves, so that
Σ balances = (grants + served + hits) − (charges − refunds + decay + cap) − penalties,
i.e. minted − burned − penalties.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger import State, TxContext, Value, consortium_info
from token_incentive._watch import WATCHES

__all__ = [
    "ACCOUNTS",
    "CANARIES",
    "CANARY_PROBES",
    "DELIST",
    "DISPUTES",
    "EPOCH_HITS",
    "JOURNAL",
    "META",
    "QUALITY",
    "QUEUE",
    "RECEIPTS",
    "SERVED",
    "SETTLEMENTS",
    "SPENT",
    "TABLES",
    "TOTAL_NAMES",
    "Account",
    "add_spent",
    "add_totals",
    "epoch_at",
    "epoch_bounds",
    "epoch_key",
    "get_account",
    "last_settled",
    "move",
    "probe_key",
    "put_account",
    "schedule",
    "totals",
    "update_schedule",
]

ACCOUNTS = "credits.accounts"
JOURNAL = "credits.journal"
RECEIPTS = "credits.receipts"
SERVED = "credits.served"
SPENT = "credits.spent"
EPOCH_HITS = "credits.epoch_hits"
DISPUTES = "credits.disputes"
QUEUE = "credits.queue"
QUALITY = "credits.quality"
SETTLEMENTS = "credits.settlements"
CANARIES = "credits.canaries"
CANARY_PROBES = "credits.canary_probes"
DELIST = "credits.delist"
META = "credits.meta"
TABLES = frozenset(
    {
        ACCOUNTS,
        JOURNAL,
        RECEIPTS,
        SERVED,
        SPENT,
        EPOCH_HITS,
        DISPUTES,
        QUEUE,
        QUALITY,
        SETTLEMENTS,
        CANARIES,
        CANARY_PROBES,
        DELIST,
        META,
        WATCHES,
    }
)

TOTAL_NAMES = ("grants", "served", "hits", "charges", "refunds", "decay", "cap", "penalties")


def epoch_key(epoch: int) -> str:
    """Zero-padded so keys sort in epoch order."""
    return f"{epoch:012d}"


def probe_key(epoch: int, observer: str, responder: str) -> str:
    """The ``credits.canary_probes`` key of an observer's probes of a responder."""
    return f"{epoch_key(epoch)}/{observer}/{responder}"


@dataclass(frozen=True, slots=True)
class Account:
    balance: int = 0
    settled: int = 0
    entries: int = 0


def get_account(state: State, member: str) -> Account:
    row: Any = state.get(ACCOUNTS, member)
    if row is None:
        return Account()
    return Account(row["balance"], row["settled"], row["entries"])


def put_account(state: State, member: str, account: Account) -> None:
    state.put(
        ACCOUNTS,
        member,
        {"balance": account.balance, "settled": account.settled, "entries": account.entries},
    )


def move(
    state: State,
    member: str,
    amount: int,
    *,
    kind: str,
    ref: str,
    ctx: TxContext,
    detail: Mapping[str, Value] | None = None,
) -> Account:
    """Add ``amount`` to ``member``'s live balance and journal it; returns the new account.

    The journal row names the transaction that moved the balance, so every line of a
    statement can be checked against the ledger (``riskshare ledger proof``)."""
    acct = get_account(state, member)
    acct = Account(acct.balance + amount, acct.settled, acct.entries + 1)
    put_account(state, member, acct)
    state.put(
        JOURNAL,
        f"{member}/{acct.entries:012d}",
        {
            "height": ctx.height,
            "time": ctx.block_time,
            "tx": ctx.tx_id,
            "kind": kind,
            "ref": ref,
            "amount": amount,
            "balance": acct.balance,
            "detail": dict(detail) if detail else None,
        },
    )
    return acct


def add_spent(state: State, epoch: int, member: str, amount: int) -> None:
    """Add ``amount`` to ``member``'s net charges for ``epoch`` (negative for a refund)."""
    key = f"{epoch_key(epoch)}/{member}"
    current: Any = state.get(SPENT, key)
    total = (current or 0) + amount
    if total:
        state.put(SPENT, key, total)
    else:
        state.delete(SPENT, key)


def totals(state: State) -> dict[str, int]:
    row: Any = state.get(META, "totals")
    return {name: (row or {}).get(name, 0) for name in TOTAL_NAMES}


def add_totals(state: State, **amounts: int) -> None:
    current = totals(state)
    for name, amount in amounts.items():
        current[name] += amount
    state.put(META, "totals", dict(current))


def last_settled(state: State) -> int:
    """The last settled epoch, or -1 before the first settlement."""
    value = state.get(META, "last_settled")
    return value if isinstance(value, int) else -1


Segment = tuple[int, int, int]


def schedule(state: State, now: int, epoch_ms: int) -> list[Segment]:
    """The epoch segments in force at ``now`` with epoch length ``epoch_ms`` (pure)."""
    return _schedule(state, state.get(META, "schedule"), now, epoch_ms)


def _schedule(state: State, stored: Any, now: int, epoch_ms: int) -> list[Segment]:
    if not stored:
        info = consortium_info(state)
        origin = info.get("genesis_time") if info else None
        origin = origin if isinstance(origin, int) and not isinstance(origin, bool) else 0
        return [(0, origin, epoch_ms)]
    segments: list[Segment] = [(s[0], s[1], s[2]) for s in stored]
    first, origin, length = segments[-1]
    if length == epoch_ms:
        return segments
    if now < origin:
        # The last segment has not begun yet: change its length rather than stack a new one.
        segments[-1] = (first, origin, epoch_ms)
        return segments
    current = epoch_at(segments, now)
    _, end = epoch_bounds(segments, current)
    segments.append((current + 1, end, epoch_ms))
    return segments


def update_schedule(state: State, now: int, epoch_ms: int) -> list[Segment]:
    """:func:`schedule`, written back when it changed; handlers call this first."""
    stored = state.get(META, "schedule")
    segments = _schedule(state, stored, now, epoch_ms)
    fresh = [list(s) for s in segments]
    if stored != fresh:
        state.put(META, "schedule", fresh)
    return segments


def epoch_at(segments: list[Segment], now: int) -> int:
    """The epoch containing ``now`` (epoch 0 for any time before the first origin)."""
    for first, origin, length in reversed(segments):
        if now >= origin:
            return first + (now - origin) // length
    return 0


def epoch_bounds(segments: list[Segment], epoch: int) -> tuple[int, int]:
    """``[start, end)`` of ``epoch`` in milliseconds."""
    for first, origin, length in reversed(segments):
        if epoch >= first:
            start = origin + (epoch - first) * length
            return start, start + length
    first, origin, length = segments[0]
    start = origin + (epoch - first) * length
    return start, start + length
