"""Random multi-member workloads for the property tests, and the oracle they are held to.

A workload is a list of operations (queries — directed or broadcast —, hit reports,
confirmations, disputes with evidence and verdicts, publication changes, time passing).
The :class:`Sim` runs them against a :class:`Net` in time order, settling each epoch as
soon as it may be settled, and checks after every step:

- a refused transaction changed nothing;
- refusals it can predict happened, with the right reason, and nothing else was refused
  where it predicts acceptance (reciprocity, overdraft, feedback window, one dispute
  per receipt, feedback on someone else's receipt);
- conservation: Σ balances = minted − burned − penalties, both by the contract's own
  counters and by an independent oracle (``tests.credits._oracle``) that recomputes
  every charge, refund and settlement from the applied transactions alone; every
  member's balance and B(t), and every settlement entry, equal the oracle's; every
  member's journal sums to its balance;
- every answer a responder admitted is recorded and charged; a broadcast's responders
  each admit on the balance before it, so it ends at most one price per extra
  responder below −OD (the exposure bound), and no further query is admitted then;
  balance <= settled <= cap;
- the 1/k shares of every reported hit sum to exactly one;
- at each settlement, every hit payment credits each copy of a hit (one responder's
  yes to one identifier) at most once, with the share 1/k where k is the number of
  responders the querier reported for that identifier, and each member's hit reward is
  Σ ⌊β·q·w/1000·Σ shares⌋ over its payments, q as published by the previous
  settlement; the rounding residue (< 1 milli-credit per payment) is minted to nobody.

:meth:`Sim.finish`, once every epoch has settled, checks that exactly the copies left
paid (confirmed, silent, or of a rejected dispute) were credited, and that the shares
credited for each hit all of whose copies were paid sum to exactly one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from hypothesis import event
from hypothesis import strategies as st

from ledger import ContractError, inclusion_proof, merkle_root
from token_incentive import (
    AdmissionRefused,
    check_request,
    hit_payments,
    params_from_state,
    ranking,
)
from token_incentive._book import get_account, last_settled

from ._net import DAY, LIST_TYPES, Net
from ._oracle import Oracle

LTS = sorted(LIST_TYPES)
EVIDENCE = [hashlib.sha256(b"evidence-%d" % i).digest() for i in range(5)]
EVIDENCE_ROOT = merkle_root(EVIDENCE)


@dataclass
class Group:
    """One query: a directed query has one receipt, a broadcast several."""

    querier: str
    list_type: str
    items: int
    rids: list[str]
    reported: set[str] = field(default_factory=set)


@dataclass
class Lane:
    """The queries and disputes one strand of activity may touch."""

    groups: list[Group] = field(default_factory=list)
    disputes: list[str] = field(default_factory=list)


@dataclass
class Sim:
    net: Net
    now: int
    lanes: dict[str, Lane] = field(default_factory=lambda: {"main": Lane()})
    lane: str = "main"
    hit_items: int = 0
    pad: int = 0  # extra entries every publisher lists (for the padding property)
    refusals: dict[str, int] = field(default_factory=dict)
    # Each reported hit: its copies, (receipt id, index of the hit in that receipt).
    hit_groups: list[list[tuple[str, int]]] = field(default_factory=list)
    credited: dict[tuple[str, int], Fraction] = field(default_factory=dict)
    payments: int = 0
    residue: Fraction = Fraction(0)
    oracle: Oracle | None = None
    fed: int = 0  # how much of net.log the oracle has seen

    @property
    def groups(self) -> list[Group]:
        return self.lanes.setdefault(self.lane, Lane()).groups

    @property
    def disputes(self) -> list[str]:
        return self.lanes.setdefault(self.lane, Lane()).disputes

    @property
    def p(self) -> Any:
        return params_from_state(self.net.state)

    # -- time ----------------------------------------------------------------------

    def advance(self, to: int) -> None:
        """Move the clock to ``to``, settling every epoch that becomes settleable."""
        while True:
            due = self.net.settle_time(last_settled(self.net.state) + 1)
            if due > to:
                break
            self.now = max(self.now, due)
            expected = self._hit_rewards(last_settled(self.net.state) + 1)
            body = self.net.settle(now=self.now, proposer=self.net.members[-1])
            paid = {e["member"]: e["hits"] for e in body["entries"] if e["hits"]}
            assert paid == {m: v for m, v in expected.items() if v}, (paid, expected)
            self.check()
        self.now = max(self.now, to)

    def _hit_rewards(self, epoch: int) -> dict[str, int]:
        """What the settlement of ``epoch`` must pay each member for hits, from its hit
        payments: record each copy's share, and weight and round with the quality the
        previous settlement published."""
        p, state = self.p, self.net.state
        a0, b0 = p.prior_a, p.prior_b
        if last_settled(state) < 0:
            q = dict.fromkeys(self.net.members, Fraction(a0, a0 + b0))
        else:
            q = {row.member: row.quality for row in ranking(state)[1]}
        out: dict[str, int] = {}
        for pay in hit_payments(state, epoch):
            for i, share in zip(pay.hits, pay.shares, strict=True):
                assert (pay.receipt, i) not in self.credited, "a copy of a hit paid twice"
                self.credited[pay.receipt, i] = share
            weight = p.hit_weight.get(pay.list_type, 0)
            exact = p.hit_reward * q[pay.responder] * weight * sum(pay.shares, Fraction(0)) / 1000
            whole = exact.numerator // exact.denominator
            assert 0 <= exact - whole < 1
            out[pay.responder] = out.get(pay.responder, 0) + whole
            self.payments += 1
            self.residue += exact - whole
        assert self.residue < self.payments or self.payments == 0
        return out

    def finish(self) -> None:
        """Once every epoch with activity has settled: the credited copies are exactly
        the paid ones, each at 1/k, and a hit paid in full shares out exactly one."""
        settled = last_settled(self.net.state)
        for group in self.hit_groups:
            k = len(group)
            credited = []
            for rid, i in group:
                r = self.net.receipt(rid)
                assert r["epoch"] <= settled, "finish() before the workload's epochs settled"
                state = r["hit_state"][i]
                assert ((rid, i) in self.credited) == (state in ("r", "c", "v")), (rid, i, state)
                if (rid, i) in self.credited:
                    assert self.credited[rid, i] == Fraction(1, k)
                    credited.append(self.credited[rid, i])
            if len(credited) == k:
                assert sum(credited, Fraction(0)) == 1
                event(f"a hit of {k} responders paid in full")
        total = sum(self.credited.values(), Fraction(0))
        per_group = sum(
            (Fraction(sum(c in self.credited for c in g), len(g)) for g in self.hit_groups),
            Fraction(0),
        )
        assert total == per_group

    # -- applying with an oracle ---------------------------------------------------

    def attempt(self, member: str, kind: str, body: dict[str, Any], expect: bool | None) -> bool:
        """Apply; a refusal must change nothing; ``expect`` (if known) must hold."""
        before = self.net.snapshot()
        try:
            self.net.apply(member, kind, body, self.now)
        except ContractError as exc:
            assert self.net.snapshot() == before, f"refused {kind} changed state"
            assert expect is not True, f"{kind} by {member} refused: {exc.reason}"
            self.refusals[kind] = self.refusals.get(kind, 0) + 1
            event(f"refused {kind}")
            return False
        assert expect is not False, f"{kind} by {member} was accepted"
        self.check()
        event(f"accepted {kind}")
        return True

    def publishes(self, member: str, list_type: str) -> bool:
        row: Any = self.net.state.get("pub.index", f"{member}/{list_type}")
        return bool(
            row and row["size"] > 0 and (row["expires_at"] is None or row["expires_at"] > self.now)
        )

    # -- operations ------------------------------------------------------------------

    def query(self, qi: int, mask: int, lt: int, items: int) -> None:
        """``mask`` picks responders among the other members, in id order (0: the first)."""
        members = self.net.members
        querier = members[qi % len(members)]
        list_type = LTS[lt % len(LTS)]
        others = [m for m in members if m != querier]
        responders = [m for i, m in enumerate(others) if mask >> i & 1] or others[:1]
        group = Group(querier, list_type, items, [])
        price = self.p.price[list_type] * items
        # Every responder of a broadcast judges the request on the state before any of
        # the answers is recorded (none of them sees the others' answers), then each
        # answer it gave is recorded and charged.
        balance = get_account(self.net.state, querier).balance
        answered = []
        for responder in responders:
            signed = self.net.request(querier, responder, list_type, items, self.now)
            expect = (
                self.publishes(querier, list_type)
                and self.publishes(responder, list_type)
                and balance - price >= -self.p.overdraft
            )
            try:
                check_request(self.net.state, signed, responder, self.now)
            except AdmissionRefused:
                assert not expect, f"{responder} refused an admissible query"
                event("refused by the responder")
                continue
            assert expect, f"{responder} admitted an inadmissible query"
            answered.append((responder, signed, self.net.receipt_body(signed, self.now)))
        for responder, signed, body in answered:
            assert self.attempt(responder, "credits.receipt", body, True)
            group.rids.append(signed.receipt_id)
        after = get_account(self.net.state, querier).balance
        assert after == balance - price * len(answered)
        # The exposure bound: one allowance per responder of the broadcast.
        if answered:
            assert after >= -self.p.overdraft - price * (len(answered) - 1)
        if group.rids:
            self.groups.append(group)

    def report(self, gi: int, masks: list[int]) -> None:
        if not self.groups:
            return
        g = self.groups[gi % len(self.groups)]
        n = len(g.rids)
        items = [[g.rids[i] for i in range(n) if m >> i & 1] for m in masks[: g.items]]
        items = [item for item in items if item]
        if not items:
            return
        listed = {r for item in items for r in item}
        open_ = all(
            self.now < self.net.receipt(r)["time"] + self.p.feedback_window_ms for r in listed
        )
        # Each receipt's hits are reported once (a broadcast's receipts may go separately).
        expect = open_ and not listed & g.reported
        self.hit_items += len(items)  # counted before the check that runs on acceptance
        if self.attempt(g.querier, "credits.hits", {"items": items}, expect):
            g.reported |= listed
            seen: dict[str, int] = {}
            for item in items:
                self.hit_groups.append([(rid, seen.get(rid, 0)) for rid in item])
                for rid in item:
                    seen[rid] = seen.get(rid, 0) + 1
        else:
            self.hit_items -= len(items)

    def feedback(self, gi: int, ri: int, action: str, hit: int | None, stranger: bool) -> None:
        reported = [g for g in self.groups if g.reported]
        if not reported:
            return
        g = reported[gi % len(reported)]
        rid = g.rids[ri % len(g.rids)]
        r = self.net.receipt(rid)
        if not r["hits"]:
            return
        hits = [] if hit is None else [hit % len(r["hits"])]
        body = {"receipt": rid, "action": action, "hits": hits}
        if stranger:
            other = next(m for m in self.net.members if m != g.querier)
            self.attempt(other, "credits.feedback", body, False)
            return
        in_window = self.now < r["time"] + self.p.feedback_window_ms
        chosen = hits or [i for i, st in enumerate(r["hit_state"]) if st == "r"]
        open_hits = bool(chosen) and all(r["hit_state"][i] == "r" for i in chosen)
        disputed = self.net.state.get("credits.disputes", rid) is not None
        expect = in_window and open_hits and not (action == "dispute" and disputed)
        if self.attempt(g.querier, "credits.feedback", body, expect) and action == "dispute":
            self.disputes.append(rid)
        if action == "dispute" and disputed:
            assert not self.attempt(g.querier, "credits.feedback", body, False)

    def resolve(self, di: int, verdict: str, open_first: bool) -> None:
        if not self.disputes:
            return
        rid = self.disputes[di % len(self.disputes)]
        d = self.net.dispute(rid)
        if d["status"] == "filed" and open_first:
            openings = [
                {
                    "leaf": EVIDENCE[i % len(EVIDENCE)],
                    "index": i % len(EVIDENCE),
                    "size": len(EVIDENCE),
                    "proof": inclusion_proof(EVIDENCE, i % len(EVIDENCE)),
                }
                for i in d["hits"]
            ]
            self.attempt(
                d["holder"], "credits.evidence", {"dispute": rid, "openings": openings}, True
            )
        self.attempt(
            self.net.observers[0], "credits.resolve", {"dispute": rid, "verdict": verdict}, None
        )

    def publish(self, mi: int, lt: int, mode: str) -> None:
        member = self.net.members[mi % len(self.net.members)]
        list_type = LTS[lt % len(LTS)]
        if mode == "gone":
            self.net.unpublish(member, list_type, now=self.now)
        else:
            self.net.publish(
                member,
                list_type,
                size=0 if mode == "empty" else 10 + mi + self.pad,
                expires_at=self.now + DAY if mode == "expiring" else None,
                evidence_root=EVIDENCE_ROOT,
                now=self.now,
            )

    def run(self, op: tuple[Any, ...], lane: str = "main") -> None:
        self.lane = lane
        name, *args = op
        if name == "tick":
            self.advance(self.now + args[0])
        else:
            getattr(self, name)(*args)

    # -- invariants ------------------------------------------------------------------

    def check_oracle(self) -> None:
        """Feed the oracle what was applied since the last check; hold the state to it."""
        net = self.net
        if self.oracle is None:
            roles = dict.fromkeys(net.members, "member") | dict.fromkeys(net.observers, "observer")
            self.oracle = Oracle(dict(net.state.scan("gov.params")), roles, net.t0)
        o = self.oracle
        for entry in net.log[self.fed :]:
            if entry[0] == "tx":
                _, kind, member, body, now, tx = entry
                o.apply(kind, member, body, now, tx)
                if kind == "credits.settle":
                    got = {
                        e["member"]: {k: v for k, v in e.items() if k != "member"}
                        for e in body["entries"]
                    }
                    assert got == o.settlements[body["epoch"]], (got, o.settlements)
            elif entry[0] == "publish":
                o.publish(*entry[1:])
            elif entry[0] == "unpublish":
                o.unpublish(*entry[1:])
            else:
                raise NotImplementedError(f"the oracle does not model {entry[0]}")
        self.fed = len(net.log)
        accounts = net.accounts()
        for m in set(accounts) | set(o.lines):
            row = accounts.get(m, {"balance": 0, "settled": 0})
            assert row["balance"] == o.balance(m), (m, row, o.balance(m))
            assert row["settled"] == o.b.get(m, 0), (m, row, o.b.get(m))
        # Σ balance changes = minted − burned − penalties, as the transactions say.
        assert sum(row["balance"] for row in accounts.values()) == o.supply

    def check(self) -> None:
        net, p = self.net, self.p
        assert net.conservation_gap() == 0
        self.check_oracle()
        spent: dict[str, int] = {}
        for key, value in net.rows("credits.spent"):
            member = key.split("/", 1)[1]
            spent[member] = spent.get(member, 0) + value
        for member, row in net.accounts().items():
            assert row["balance"] <= row["settled"] <= p.cap
            assert row["settled"] - row["balance"] == spent.get(member, 0)
            journal = [j for _, j in net.rows("credits.journal", member + "/")]
            assert sum(j["amount"] for j in journal) == row["balance"]
        shares = Fraction(0)
        for _, r in net.rows("credits.receipts"):
            for k in r["hits"] or ():
                shares += Fraction(1, k)
        assert shares == self.hit_items


def ops(n_members: int) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    """Operations over ``n_members`` members; indices are reduced modulo what exists."""
    idx = st.integers(0, 31)
    mask = st.integers(0, 2**n_members - 1)
    query = st.tuples(st.just("query"), idx, mask, idx, st.integers(1, 6))
    report = st.tuples(st.just("report"), idx, st.lists(mask, min_size=1, max_size=6))
    feedback = st.tuples(
        st.just("feedback"),
        idx,
        idx,
        st.sampled_from(["confirm", "dispute", "dispute"]),
        st.none() | idx,
        st.booleans(),
    )
    resolve = st.tuples(
        st.just("resolve"), idx, st.sampled_from(["upheld", "rejected"]), st.booleans()
    )
    publish = st.tuples(
        st.just("publish"), idx, idx, st.sampled_from(["fresh", "empty", "expiring", "gone"])
    )
    tick = st.tuples(st.just("tick"), st.sampled_from([1, DAY // 6, DAY // 2, DAY, 3 * DAY]))
    one = st.one_of(query, query, report, report, feedback, resolve, publish, tick)
    return st.lists(one, min_size=8, max_size=30)


@st.composite
def credit_params(draw: st.DrawFn) -> dict[str, Any]:
    """Parameters that satisfy the constraints, spread over their space (boundaries too)."""
    price = {lt: draw(st.integers(1, 400)) for lt in LTS}
    weight = {lt: draw(st.integers(0, 1000)) for lt in LTS}
    min_c, max_w = min(price.values()), max(weight.values())
    alpha = draw(st.integers(0, min_c - 1))
    room = 1000 * (min_c - alpha) - 1  # β·max w must stay at or under this
    beta = draw(st.integers(0, room // max_w if max_w else 5000))
    a0 = draw(st.integers(0, 5))
    big = 10 * max(price.values())
    return {
        "credits.price": price,
        "credits.hit_weight": weight,
        "credits.serve_reward": alpha,
        "credits.hit_reward": beta,
        "credits.penalty": draw(st.integers(-(-beta * max_w // 1000), 20_000)),
        "credits.grant": draw(st.sampled_from([big, 0, 1, 5 * big])),
        "credits.cap": draw(st.sampled_from([20 * big, 10**9, big, 1])),
        "credits.overdraft": draw(st.sampled_from([50 * big, big, 0])),
        "credits.serve_cap": draw(st.integers(0, 8)),
        "credits.decay": draw(st.sampled_from([[0, 1], [1, 2], [3, 4], [9, 10], [99, 100]])),
        "credits.quality_prior": [a0, draw(st.integers(0 if a0 else 1, 5))],
        "credits.feedback_window_ms": draw(st.sampled_from([DAY // 4, DAY, 2 * DAY])),
        "credits.epoch_ms": DAY,
        "credits.dispute_open_ms": draw(st.sampled_from([0, DAY])),
    }
