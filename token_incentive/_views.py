"""Reading credits from ledger state: balances, statements, rankings, disputes.

Everything here reads a :class:`ledger.State` only — a replica's store, or a replay of
the chain — so a statement is reproducible from the ledger alone: ``riskshare ledger
verify`` replays every block and proves the stored state (and so every journal row
here) is what the transactions produce. Each statement line carries the id of the
transaction that moved the balance.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ledger import State, Value
from token_incentive._book import (
    CANARIES,
    DELIST,
    DISPUTES,
    JOURNAL,
    META,
    RECEIPTS,
    SETTLEMENTS,
    epoch_bounds,
    epoch_key,
    get_account,
    last_settled,
    totals,
)
from token_incentive._errors import CreditsError
from token_incentive._params import params_from_state

__all__ = [
    "SETTLEMENT_COMPONENTS",
    "BalanceView",
    "JournalLine",
    "RankRow",
    "RecordedReceipt",
    "SettlementLine",
    "SettlementView",
    "Statement",
    "balance_of",
    "canary_committed",
    "dispute_of",
    "disputes",
    "find_receipt",
    "history",
    "last_settled_epoch",
    "last_settlement",
    "ranking",
    "recorded_receipt",
    "recorded_receipts",
    "settlement_view",
    "statement",
    "supply",
]


@dataclass(frozen=True, slots=True)
class BalanceView:
    member: str
    balance: int  # live, milli-credits
    settled: int  # B(t) at the start of the first unsettled epoch
    pending_charges: int  # charges of unsettled epochs, already in `balance`
    available: int  # what admission still allows: balance + overdraft
    overdraft: int
    cap: int
    last_settled: int


@dataclass(frozen=True, slots=True)
class JournalLine:
    n: int
    height: int
    time: int
    tx: bytes
    kind: str
    ref: str
    amount: int
    balance: int
    detail: Mapping[str, Value] | None


@dataclass(frozen=True, slots=True)
class Statement:
    """A member's balance movements over an epoch range, with opening and closing."""

    member: str
    from_epoch: int
    to_epoch: int
    start: int  # ms, inclusive
    end: int  # ms, exclusive
    opening: int
    closing: int
    lines: tuple[JournalLine, ...]
    totals: Mapping[str, int] = field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        """Opening + every line = closing, and each line's running balance agrees."""
        running = self.opening
        for line in self.lines:
            running += line.amount
            if running != line.balance:
                return False
        return running == self.closing


@dataclass(frozen=True, slots=True)
class RankRow:
    rank: int
    member: str
    tp: int
    fp: int
    quality: Fraction


@dataclass(frozen=True, slots=True)
class RecordedReceipt:
    """One recorded answer (``credits.receipts``), as other packages may read it."""

    receipt_id: str
    querier: str
    responder: str
    list_type: str
    id_type: str
    items: int
    charge: int
    time: int  # the block time it was recorded at
    height: int  # the height it was recorded at
    key_id: Value  # the OPRF key the request named (or the published one it stood for)
    status: str  # recorded, refunded
    canary: bool  # an observer's canary probe
    hits: tuple[int, ...] | None  # the item positions the querier reported as hits
    hit_state: tuple[str, ...] | None  # per reported hit: r(eported), c(onfirmed), d(isputed)
    index_epoch: int | None  # the responder's published index the answer came from
    evidence_root: bytes | None  # that index's evidence commitment

    def open_for_hits(self, querier: str) -> bool:
        """``querier`` may still report hits on this answer."""
        return (
            self.querier == querier
            and self.status == "recorded"
            and self.hits is None
            and not self.canary
        )


def _receipt(receipt_id: str, row: Mapping[str, Any]) -> RecordedReceipt:
    index = row.get("index") or {}
    hits, hit_state = row.get("hits"), row.get("hit_state")
    return RecordedReceipt(
        receipt_id,
        row["querier"],
        row["responder"],
        row["list_type"],
        row["id_type"],
        row["items"],
        row["charge"],
        row["time"],
        row["height"],
        row["key_id"],
        row["status"],
        bool(row.get("canary")),
        None if hits is None else tuple(hits),
        None if hit_state is None else tuple(hit_state),
        index.get("epoch"),
        index.get("evidence_root"),
    )


def recorded_receipt(state: State, receipt_id: str) -> RecordedReceipt | None:
    """The recorded answer ``receipt_id``, or ``None``."""
    row: Any = state.get(RECEIPTS, receipt_id)
    if not isinstance(row, dict):
        return None
    return _receipt(receipt_id, row)


def recorded_receipts(state: State) -> Iterator[RecordedReceipt]:
    """Every recorded answer, in receipt-id order."""
    for key, row in state.scan(RECEIPTS):
        if isinstance(row, dict):
            yield _receipt(key, row)


def canary_committed(state: State, commitment: bytes) -> bool:
    """An observer committed this canary and has not yet revealed it."""
    row: Any = state.get(CANARIES, commitment.hex())
    return isinstance(row, dict) and row.get("status") == "committed"


def last_settled_epoch(state: State) -> int:
    """The last settled epoch, -1 before any settlement."""
    return last_settled(state)


def balance_of(state: State, member: str) -> BalanceView:
    p = params_from_state(state)
    acct = get_account(state, member)
    return BalanceView(
        member=member,
        balance=acct.balance,
        settled=acct.settled,
        pending_charges=acct.settled - acct.balance,
        available=acct.balance + p.overdraft,
        overdraft=p.overdraft,
        cap=p.cap,
        last_settled=last_settled(state),
    )


def _lines(state: State, member: str) -> Iterator[JournalLine]:
    for key, row in state.scan(JOURNAL, member + "/"):
        r: Any = row
        yield JournalLine(
            n=int(key.rsplit("/", 1)[1]),
            height=r["height"],
            time=r["time"],
            tx=r["tx"],
            kind=r["kind"],
            ref=r["ref"],
            amount=r["amount"],
            balance=r["balance"],
            detail=r["detail"],
        )


def history(state: State, member: str, limit: int | None = None) -> list[JournalLine]:
    """The member's balance movements, oldest first (the last ``limit`` if given)."""
    lines = list(_lines(state, member))
    return lines if limit is None else lines[-limit:]


def _segments(state: State) -> list[tuple[int, int, int]]:
    stored: Any = state.get(META, "schedule")
    if not stored:
        raise CreditsError("no credits activity yet: the epoch schedule is not set")
    return [(s[0], s[1], s[2]) for s in stored]


def statement(
    state: State, member: str, from_epoch: int = 0, to_epoch: int | None = None
) -> Statement:
    """Movements with block time in epochs ``[from_epoch, to_epoch]`` (default: to now).

    Totals add up charges, refunds and every settlement component, so the statement
    says not only how the balance moved but why.
    """
    segments = _segments(state)
    start = epoch_bounds(segments, from_epoch)[0]
    end = epoch_bounds(segments, to_epoch)[1] if to_epoch is not None else 1 << 62
    every = list(_lines(state, member))
    before = [line for line in every if line.time < start]
    lines = tuple(line for line in every if start <= line.time < end)
    opening = before[-1].balance if before else 0
    closing = lines[-1].balance if lines else opening
    sums: dict[str, int] = {}
    for line in lines:
        if line.kind in ("charge", "refund"):
            name = "charged" if line.kind == "charge" else "refunded"
            sums[name] = sums.get(name, 0) + abs(line.amount)
        elif line.detail:
            # A settlement's "charges" repeats what the charge lines already show.
            for name, value in line.detail.items():
                if name != "charges" and isinstance(value, int) and not isinstance(value, bool):
                    sums[name] = sums.get(name, 0) + value
    return Statement(
        member=member,
        from_epoch=from_epoch,
        to_epoch=to_epoch if to_epoch is not None else -1,
        start=start,
        end=end,
        opening=opening,
        closing=closing,
        lines=lines,
        totals=sums,
    )


def _rank_rows(ranking: Any) -> list[RankRow]:
    return [
        RankRow(r["rank"], r["member"], r["tp"], r["fp"], Fraction(r["q"][0], r["q"][1]))
        for r in ranking or ()
    ]


def ranking(state: State, epoch: int | None = None) -> tuple[int, list[RankRow]]:
    """The quality ranking published with a settlement (the last one by default)."""
    epoch = last_settled(state) if epoch is None else epoch
    row: Any = state.get(SETTLEMENTS, epoch_key(epoch))
    if row is None:
        raise CreditsError(f"epoch {epoch} has not been settled")
    return epoch, _rank_rows(row["ranking"])


#: The per-member components of a settlement, in the order a statement shows them.
SETTLEMENT_COMPONENTS = ("grant", "served", "hits", "charges", "decay", "cap", "penalty", "delta")


@dataclass(frozen=True, slots=True)
class SettlementLine:
    member: str
    amounts: Mapping[str, int]  # by SETTLEMENT_COMPONENTS


@dataclass(frozen=True, slots=True)
class SettlementView:
    """One epoch's settlement: what was (or, provisionally, would be) recorded."""

    epoch: int
    start: int  # ms, inclusive
    end: int  # ms, exclusive
    time: int | None  # the block time it was settled at (None: provisional)
    ranking: tuple[RankRow, ...]
    lines: tuple[SettlementLine, ...]


def settlement_view(body: Mapping[str, Any], time: int | None = None) -> SettlementView:
    """A settlement body (recorded, or from ``compute_settlement``) as a view."""
    return SettlementView(
        epoch=int(body["epoch"]),
        start=int(body["start"]),
        end=int(body["end"]),
        time=time,
        ranking=tuple(_rank_rows(body.get("ranking"))),
        lines=tuple(
            SettlementLine(str(e["member"]), {c: int(e.get(c, 0)) for c in SETTLEMENT_COMPONENTS})
            for e in body.get("entries", ())
        ),
    )


def last_settlement(state: State) -> SettlementView | None:
    """The last recorded settlement, or ``None`` before the first."""
    epoch = last_settled(state)
    if epoch < 0:
        return None
    row: Any = state.get(SETTLEMENTS, epoch_key(epoch))
    if not isinstance(row, dict):
        return None
    return settlement_view(row, int(row.get("time", 0)) or None)


def find_receipt(state: State, prefix: str) -> tuple[str, Mapping[str, Any]]:
    """A receipt by its id or a unique prefix of it (at least 8 hex digits)."""
    prefix = prefix.lower()
    if len(prefix) < 8:
        raise CreditsError("give at least 8 hex digits of the receipt id")
    found = [(rid, row) for rid, row in state.scan(RECEIPTS, prefix)]
    if not found:
        raise CreditsError(f"no receipt {prefix}")
    if len(found) > 1:
        raise CreditsError(f"{prefix} names {len(found)} receipts; give more digits")
    rid, row = found[0]
    return rid, row  # type: ignore[return-value]


def dispute_of(state: State, prefix: str) -> dict[str, Any]:
    """A dispute (by receipt id or a unique prefix), with its delisting obligation."""
    prefix = prefix.lower()
    found = [(rid, row) for rid, row in state.scan(DISPUTES, prefix)]
    if len(found) != 1:
        raise CreditsError(
            f"no dispute {prefix}" if not found else f"{prefix} names {len(found)} disputes"
        )
    rid, row = found[0]
    d: dict[str, Any] = {"id": rid, **row}  # type: ignore[dict-item]
    d["obligation"] = state.get(DELIST, f"{d['holder']}/{d['list_type']}/{rid}")
    return d


def disputes(
    state: State, status: str | None = None, member: str | None = None
) -> list[dict[str, Any]]:
    """Disputes, optionally by status and by a member that filed or holds them."""
    out = []
    for rid, row in state.scan(DISPUTES):
        d: dict[str, Any] = {"id": rid, **row}  # type: ignore[dict-item]
        if status is not None and d["status"] != status:
            continue
        if member is not None and member not in (d["filer"], d["holder"]):
            continue
        out.append(d)
    return out


def supply(state: State) -> dict[str, int]:
    """The conservation counters and the balance they imply (= Σ balances)."""
    t = totals(state)
    minted = t["grants"] + t["served"] + t["hits"]
    burned = t["charges"] - t["refunds"] + t["decay"] + t["cap"]
    return {**t, "minted": minted, "burned": burned, "supply": minted - burned - t["penalties"]}
