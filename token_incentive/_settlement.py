"""Epoch settlement: the one transaction per epoch that mints, decays, caps and penalises.

For epoch t every replica computes the same settlement from state alone
(:func:`compute_settlement`); a ``credits.settle`` transaction is valid only if its body
equals it exactly, only for the epoch after the last settled one, and only once the
feedback window of every receipt in the epoch has closed (block time >= end of t + W).

Per member j, in integer milli-credits:

- grant G_j = g0 · (list types j publishes non-empty and in date at the end of t);
- served S_j = α · Σ_k min(items j served to k in t, m);
- hits H_j = Σ over j's hit payments (:func:`hit_payments`) of
  ⌊β · q_j · w_L/1000 · Σ_{x ∈ paid hits} hit_share(k_x)⌋, computed with
  :class:`fractions.Fraction`. A hit x that k_x responders answered yes to gives each
  of them :func:`hit_share` (1/k_x); the k_x shares sum to exactly 1 (the Shapley
  value of the k_x-player unanimity game). A payment is a receipt's paid hits (its
  undisputed hits: confirmed explicitly or by silence, the window having closed), paid
  by the settlement of the receipt's epoch, or the hits of a dispute *rejected* during
  t or before (and not yet accounted);
- penalty P_j = γ · (false positives upheld against j during t or before, not yet
  accounted) + the overdraft debt of t: max(0, C_j − B − OD), how far the answers
  recorded in t took B below the floor −OD (a responder answering on a view that had
  not seen the querier's other answers yet; every recorded answer is charged);
- charges C_j = j's net charges (less refunds) for queries recorded in t;
- with B = B_j(t), the balance at the start of t by the recurrence:
  B_j(t+1) = min(cap, λ·B + G + S + H) − P − C (λ·B rounded down; B > 0 only),
  so decay = B − λ·B and cap excess = λ·B + G + S + H − cap when positive;
- the live balance, which already paid C when each query was recorded, moves by
  delta = G + S + H − decay − cap excess − P.

Rounding: each payment is rounded down once, to a whole milli-credit, after weighting;
nothing else is ever rounded but λ·B. The discarded fraction (< 1 milli-credit per
payment) is never minted: no balance is debited for it and no counter records it, so
balances move by exactly the integers recorded and Σ deltas = minted − burned −
penalties holds exactly. The responder is under-paid by less than one milli-credit
per payment. Rounding per payment (not per member) keeps one query's reward
independent of any other query's.

Quality is lagged by one settlement: hits settled in t are weighted by q_j computed
from the TP/FP counts as they stood after t−1 (the ranking published with t−1), and
this settlement's TP/FP then update the counts and the ranking it publishes. The lag
makes one epoch's hits unable to raise the weight of the same epoch's rewards.

Charges and penalties are *outside* the cap (DESIGN §6 puts them inside): otherwise a
member whose income exceeds the cap would query for free, its charges vanishing into
the truncation, and could pay a friend's served rewards at no cost. Decay applies to
B(t), so no query made during t changes the decay of the settlement that accounts it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ledger import State, TxContext, Value, active_members, index_row
from token_incentive._book import (
    ACCOUNTS,
    DISPUTES,
    EPOCH_HITS,
    META,
    QUALITY,
    QUEUE,
    RECEIPTS,
    SERVED,
    SETTLEMENTS,
    SPENT,
    Account,
    add_totals,
    epoch_bounds,
    epoch_key,
    get_account,
    last_settled,
    move,
    put_account,
    schedule,
)
from token_incentive._errors import CreditsError
from token_incentive._params import PERMILLE, CreditParams, params_from_state

__all__ = [
    "HitPayment",
    "apply_settlement",
    "compute_settlement",
    "hit_payments",
    "hit_reward",
    "hit_share",
    "settlement_due",
]

_COMPONENTS = ("grant", "served", "hits", "penalty", "decay", "cap")
_SHOWN = (*_COMPONENTS, "charges")


def hit_share(k: int) -> Fraction:
    """Each responder's share of one hit that ``k`` responders answered yes to: 1/k.

    The Shapley value of the k-player unanimity game (the hit needs any one of them):
    the k shares sum to exactly 1. This is the only place a share is computed.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise CreditsError("a hit has at least one responder")
    return Fraction(1, k)


@dataclass(frozen=True, slots=True)
class HitPayment:
    """One hit payment a settlement makes to a responder, before weighting and rounding.

    ``source`` is ``"receipt"`` for a receipt's undisputed hits, paid by the settlement
    of the receipt's epoch, or ``"dispute"`` for the hits of a rejected dispute, paid by
    the settlement of the epoch of the verdict. ``hits`` are indices into the receipt's
    hits, ``shares`` the share of each (:func:`hit_share` of its k).
    """

    responder: str
    receipt: str
    list_type: str
    source: str
    hits: tuple[int, ...]
    shares: tuple[Fraction, ...]


def hit_reward(
    p: CreditParams, list_type: str, shares: Sequence[Fraction], quality: Fraction
) -> int:
    """⌊β · q · w_L/1000 · Σ shares⌋ milli-credits: one payment, rounded down once."""
    share = sum(shares, Fraction(0))
    exact = p.hit_reward * quality * p.hit_weight.get(list_type, 0) * share / PERMILLE
    return exact.numerator // exact.denominator


def _due_disputes(state: State, epoch: int) -> list[tuple[str, Any]]:
    """Disputes resolved in ``epoch`` or before and not yet accounted: (queue key, row)."""
    out: list[tuple[str, Any]] = []
    for key, _ in state.scan(QUEUE):
        resolved_in, rid = key.split("/", 1)
        if int(resolved_in) > epoch:
            break
        out.append((key, state.get(DISPUTES, rid)))
    return out


def hit_payments(state: State, epoch: int) -> list[HitPayment]:
    """Every hit payment the settlement of ``epoch`` makes, as :func:`compute_settlement`
    weights and rounds them: the paid hits of the epoch's receipts (neither disputed nor
    upheld: confirmed, or silent until the window closed), then the hits of the
    rejected disputes due."""
    out: list[HitPayment] = []
    for key, _ in state.scan(EPOCH_HITS, epoch_key(epoch) + "/"):
        rid = key.split("/", 1)[1]
        r: Any = state.get(RECEIPTS, rid)
        if r is None or r["status"] != "recorded":
            continue
        paid = [i for i, st in enumerate(r["hit_state"]) if st in ("r", "c")]
        if paid:
            shares = tuple(hit_share(r["hits"][i]) for i in paid)
            out.append(
                HitPayment(r["responder"], rid, r["list_type"], "receipt", tuple(paid), shares)
            )
    for key, d in _due_disputes(state, epoch):
        if d["status"] == "rejected" and d["kind"] == "hit":
            shares = tuple(hit_share(k) for k in d["ks"])
            rid = key.split("/", 1)[1]
            out.append(
                HitPayment(d["holder"], rid, d["list_type"], "dispute", tuple(d["hits"]), shares)
            )
    return out


def _counts(state: State) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for member, row in state.scan(QUALITY):
        r: Any = row
        out[member] = (r["tp"], r["fp"])
    return out


def _grants(state: State, p: CreditParams, end: int) -> dict[str, int]:
    """The base grant per member: ``g0`` per priced list type whose ``pub.index`` row is
    in force at the epoch's end — non-empty, in date, and not suspended by a complaint
    that its snapshot contradicts it (``IndexRow.in_force``)."""
    out: dict[str, int] = {}
    for member in active_members(state, "member"):
        count = 0
        for list_type in p.price:
            row = index_row(state, member.id, list_type)
            if row is not None and row.in_force(end):
                count += 1
        if count:
            out[member.id] = p.grant * count
    return out


def _past_segments(state: State, p: CreditParams) -> list[tuple[int, int, int]]:
    # The bounds of an epoch that has ended never depend on a pending change of epoch
    # length, so the stored schedule (or the initial one) serves whatever "now" is.
    stored: Any = state.get(META, "schedule")
    if stored:
        return [(s[0], s[1], s[2]) for s in stored]
    return schedule(state, 0, p.epoch_ms)


def compute_settlement(state: State, epoch: int) -> dict[str, Value]:
    """The settlement of ``epoch`` as every replica computes it: the exact tx body."""
    p = params_from_state(state)
    start, end = epoch_bounds(_past_segments(state, p), epoch)
    counts = _counts(state)

    def quality(member: str) -> Fraction:
        tp, fp = counts.get(member, (0, 0))
        return p.quality(tp, fp)

    comp: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_SHOWN, 0))
    tp_add: dict[str, int] = defaultdict(int)
    fp_add: dict[str, int] = defaultdict(int)

    for member, grant in _grants(state, p, end).items():
        comp[member]["grant"] = grant
    for key, spent in state.scan(SPENT, epoch_key(epoch) + "/"):
        comp[key.split("/", 1)[1]]["charges"] = int(spent)  # type: ignore[arg-type]

    served: dict[str, int] = defaultdict(int)
    for key, items in state.scan(SERVED, epoch_key(epoch) + "/"):
        _, responder, _querier = key.split("/")
        served[responder] += min(int(items), p.serve_cap)  # type: ignore[arg-type]
    for responder, items in served.items():
        comp[responder]["served"] = p.serve_reward * items

    for pay in hit_payments(state, epoch):
        j = pay.responder
        comp[j]["hits"] += hit_reward(p, pay.list_type, pay.shares, quality(j))
        tp_add[j] += len(pay.hits)

    disputes: list[str] = []
    for key, d in _due_disputes(state, epoch):
        disputes.append(key)
        if d["status"] == "upheld":
            fp_add[d["holder"]] += len(d["hits"])
            comp[d["holder"]]["penalty"] += p.penalty * len(d["hits"])

    entries: list[Value] = []
    members = sorted(set(comp) | {m for m, _ in state.scan(ACCOUNTS)} | set(tp_add) | set(fp_add))
    for member in members:
        c = comp[member]
        before = get_account(state, member).settled
        # Answers are charged when recorded whatever the balance (``_contract``), so a
        # querier answered against a stale view can end an epoch below −OD: that debt
        # blocks its admission and is penalised here by its own size.
        c["penalty"] += max(0, c["charges"] - before - p.overdraft)
        kept = p.decayed(before)
        c["decay"] = before - kept
        income = c["grant"] + c["served"] + c["hits"]
        c["cap"] = max(0, kept + income - p.cap)
        delta = income - c["decay"] - c["cap"] - c["penalty"]
        if any(c.values()) or tp_add[member] or fp_add[member]:
            entries.append(
                {
                    "member": member,
                    **c,
                    "delta": delta,
                    "settled": before + delta - c["charges"],
                    "tp": tp_add[member],
                    "fp": fp_add[member],
                }
            )

    ranked = []
    rankable = {m.id for m in active_members(state, "member")} | set(counts)
    for member in rankable:
        tp, fp = counts.get(member, (0, 0))
        tp, fp = tp + tp_add[member], fp + fp_add[member]
        ranked.append((p.quality(tp, fp), tp, fp, member))
    ranked.sort(key=lambda row: (-row[0], -row[1], row[3]))
    ranking: list[Value] = [
        {"rank": i + 1, "member": m, "tp": tp, "fp": fp, "q": [q.numerator, q.denominator]}
        for i, (q, tp, fp, m) in enumerate(ranked)
    ]
    return {
        "epoch": epoch,
        "start": start,
        "end": end,
        "entries": entries,
        "disputes": list(disputes),
        "ranking": ranking,
    }


def settlement_due(state: State, now: int) -> int | None:
    """The next epoch to settle if it may be settled at ``now``, else ``None``.

    The gateway calls this on a timer and proposes ``compute_settlement`` for it.
    """
    p = params_from_state(state)
    epoch = last_settled(state) + 1
    _, end = epoch_bounds(_past_segments(state, p), epoch)
    return epoch if now >= end + p.feedback_window_ms else None


def apply_settlement(state: State, body: Mapping[str, Any], ctx: TxContext) -> None:
    """Apply a settlement that has been checked equal to :func:`compute_settlement`."""
    epoch = body["epoch"]
    ref = epoch_key(epoch)
    sums = dict.fromkeys(_COMPONENTS, 0)
    for e in body["entries"]:
        member = e["member"]
        for name in _COMPONENTS:
            sums[name] += e[name]
        if any(e[name] for name in _COMPONENTS):
            move(
                state,
                member,
                e["delta"],
                kind="settle",
                ref=ref,
                ctx=ctx,
                detail={name: e[name] for name in _SHOWN},
            )
        acct = get_account(state, member)
        put_account(state, member, Account(acct.balance, e["settled"], acct.entries))
        if e["tp"] or e["fp"]:
            row: Any = state.get(QUALITY, member) or {"tp": 0, "fp": 0}
            state.put(QUALITY, member, {"tp": row["tp"] + e["tp"], "fp": row["fp"] + e["fp"]})
        state.delete(SPENT, f"{ref}/{member}")
    for key in body["disputes"]:
        state.delete(QUEUE, key)
        rid = key.split("/", 1)[1]
        d: Any = state.get(DISPUTES, rid)
        state.put(DISPUTES, rid, {**d, "settled_in": epoch})
    add_totals(
        state,
        grants=sums["grant"],
        served=sums["served"],
        hits=sums["hits"],
        decay=sums["decay"],
        cap=sums["cap"],
        penalties=sums["penalty"],
    )
    state.put(META, "last_settled", epoch)
    state.put(
        SETTLEMENTS,
        ref,
        {**body, "height": ctx.height, "time": ctx.block_time, "proposer": ctx.member},
    )
