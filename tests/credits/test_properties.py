"""The properties DESIGN §6 and issue 5 require, over random multi-member workloads."""

from __future__ import annotations

import itertools
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from token_incentive import hit_payments, params_from_state
from token_incentive._book import last_settled

from ._net import DAY, T0, Net
from ._oracle import replay_store
from ._storenet import StoreNet
from ._workload import EVIDENCE_ROOT, LTS, Sim, credit_params, ops

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _net(params: dict[str, Any], n: int = 4, pad: int = 0, data_dir: Path | None = None) -> Net:
    members, observers = [f"m{i}" for i in range(n)], ("obs",)
    if data_dir is None:
        net = Net(members=members, observers=observers, overrides=params)
    else:
        net = StoreNet(data_dir, members=members, observers=observers, overrides=params)
    for i, member in enumerate(net.members):
        for j, lt in enumerate(LTS):
            if (i + j) % 4 != 3:  # m0 publishes every list type, the others miss one
                net.publish(member, lt, size=50 + i + pad, evidence_root=EVIDENCE_ROOT)
    return net


@SETTINGS
@given(credit_params(), ops(4))
def test_random_workloads_keep_every_invariant(params: dict[str, Any], workload: list[Any]) -> None:
    sim = Sim(_net(params), now=T0 + 1)
    sim.check()
    for op in workload:
        sim.run(op)
    sim.advance(sim.now + 4 * DAY)
    sim.finish()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(credit_params(), ops(4))
def test_random_workloads_keep_every_invariant_on_the_sqlite_store(
    params: dict[str, Any], workload: list[Any]
) -> None:
    """The same workloads and checks (the contract's counters, the independent oracle,
    the shares) on a real ledger: every transaction signed, ordered by the embedded
    orderer into a block of its own and committed to a SQLite store, publications
    included, under the consortium's full registry."""
    with tempfile.TemporaryDirectory(prefix="credits-store-") as tmp:
        net = _net(params, data_dir=Path(tmp))
        try:
            assert isinstance(net, StoreNet)
            sim = Sim(net, now=T0 + 1)
            sim.check()
            for op in workload:
                sim.run(op)
            sim.advance(sim.now + 4 * DAY)
            sim.finish()
            assert net.store.height == net.height  # every applied transaction is a block
            # Walking the store's blocks (as the network test does) gives the same books
            # as feeding the oracle what was applied.
            walked = replay_store(net.store)
            assert sim.oracle is not None
            assert walked.balances() == sim.oracle.balances()
            assert walked.settlements == sim.oracle.settlements
        finally:
            net.close()


@SETTINGS
@given(credit_params(), ops(4))
def test_balances_stay_under_the_cap_and_converge_under_decay(
    params: dict[str, Any], workload: list[Any]
) -> None:
    sim = Sim(_net(params), now=T0 + 1)
    for op in workload:
        sim.run(op)
    p = params_from_state(sim.net.state)
    sim.advance(sim.now + 4 * DAY)
    # No more activity: each B(t+1) = min(cap, ⌊λ·B(t)⌋ + G) is a monotone map, so every
    # balance moves monotonically to a fixed point and stops there.
    history: dict[str, list[int]] = {m: [] for m in sim.net.members}
    for _ in range(40):
        sim.advance(sim.net.settle_time(last_settled(sim.net.state) + 1))
        for m in history:
            history[m].append(sim.net.balance(m))
    for m, seq in history.items():
        grant = p.grant * sum(sim.publishes(m, lt) for lt in p.price)
        expected = [seq[0]]
        while len(expected) < len(seq):
            expected.append(min(p.cap, p.decayed(expected[-1]) + grant))
        assert seq == expected, (m, seq, expected)
        assert max(seq) <= p.cap
        steps = [b - a for a, b in itertools.pairwise(seq)]
        assert all(s >= 0 for s in steps) or all(s <= 0 for s in steps), (m, seq)
        b, n = seq[-1], 0
        while min(p.cap, p.decayed(b) + grant) != b:
            b, n = min(p.cap, p.decayed(b) + grant), n + 1
            assert n < 10**6, "no fixed point"
        assert b <= p.cap


_MUTUAL = st.one_of(
    # m0 asks m1 (mask 1 = the first other member) or m1 asks m0.
    st.tuples(
        st.just("query"), st.integers(0, 1), st.just(1), st.integers(0, 2), st.integers(1, 6)
    ),
    st.tuples(st.just("report"), st.integers(0, 31), st.lists(st.just(1), max_size=6)),
    st.tuples(
        st.just("feedback"),
        st.integers(0, 31),
        st.just(0),
        st.sampled_from(["confirm", "dispute"]),
        st.none() | st.integers(0, 5),
        st.just(False),
    ),
    st.tuples(
        st.just("resolve"),
        st.integers(0, 31),
        st.sampled_from(["upheld", "rejected"]),
        st.booleans(),
    ),
)


def _third_party(op: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The op without any query between m0 and m1 (ticks and publication excluded)."""
    if op[0] == "query":
        _, qi, mask, lt, items = op
        if qi % 4 in (0, 1):
            mask &= 0b110  # of the 3 others, the first is the partner (m1 for m0, m0 for m1)
            return ("query", qi, mask, lt, items) if mask else None
        return op
    return op if op[0] in ("report", "feedback", "resolve") else None


def _final_epoch(
    params: dict[str, Any], history: list[Any], final: list[tuple[str, Any]]
) -> tuple[Net, int]:
    """Run ``history``, then ``final`` (lane, op) at the start of a fresh epoch, and settle it."""
    net = _net(params)
    sim = Sim(net, now=T0 + 1)
    for op in history:
        sim.run(op)
    epoch = last_settled(net.state) + 1
    while net.epoch_end(epoch) <= sim.now:
        epoch += 1
    epoch += 1  # the first epoch the history has not touched
    sim.advance(net.epoch_end(epoch - 1))
    for lane, op in final:
        sim.run(op, lane)
    sim.advance(net.settle_time(epoch))
    return net, epoch


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(credit_params(), ops(4), ops(4), st.lists(_MUTUAL, max_size=12), st.randoms())
def test_no_pair_raises_its_combined_balance_by_querying_each_other(
    params: dict[str, Any],
    history: list[Any],
    third: list[Any],
    mutual: list[Any],
    rnd: Any,
) -> None:
    """The pair m0, m1 query each other in any pattern, interleaved with everyone else's
    activity, after any history. Through the settlement that accounts those queries, the
    pair ends strictly poorer than in the same world without them."""
    params["credits.overdraft"] = 10**12  # so no one else's admission differs
    others = [("third", op) for op in map(_third_party, third) if op is not None]
    pair = [("pair", op) for op in mutual]
    both = others + pair
    rnd.shuffle(both)
    with_pair, epoch = _final_epoch(params, history, both)
    without, _ = _final_epoch(params, history, [x for x in both if x[0] == "third"])
    combined = sum(with_pair.balance(m) for m in ("m0", "m1"))
    baseline = sum(without.balance(m) for m in ("m0", "m1"))
    mutual_receipts = [
        r
        for _, r in with_pair.rows("credits.receipts")
        if {r["querier"], r["responder"]} == {"m0", "m1"} and r["epoch"] == epoch
    ]
    if mutual_receipts:
        assert combined < baseline
    else:
        assert combined == baseline


@SETTINGS
@given(credit_params(), ops(4), st.integers(1, 10**9))
def test_list_size_never_enters_the_credit(
    params: dict[str, Any], workload: list[Any], pad: int
) -> None:
    """Padding every list with ``pad`` more entries changes no balance and no settlement
    (grants count list types, not entries; rewards count answers and confirmed hits)."""
    worlds = []
    for extra in (0, pad):
        sim = Sim(_net(params, pad=extra), now=T0 + 1, pad=extra)
        for op in workload:
            sim.run(op)
        sim.advance(sim.now + 4 * DAY)
        worlds.append(sim.net)
    plain, padded = worlds
    assert plain.accounts() == padded.accounts()

    def settlements(net: Net) -> list[Any]:
        # Receipt ids are random per world; compare how many disputes each accounted.
        return [
            {**row, "disputes": len(row["disputes"])} for _, row in net.rows("credits.settlements")
        ]

    assert settlements(plain) == settlements(padded)


@settings(max_examples=40, deadline=None)
@given(
    credit_params(),
    st.lists(
        st.tuples(
            st.sampled_from(["m0", "m2"]), st.integers(1, 6), st.integers(0, 6), st.integers(0, 6)
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_padding_hits_never_pay_in_expectation(
    params: dict[str, Any], queries: list[tuple[str, int, int, int]]
) -> None:
    """m1 pads its list; some queried identifiers now hit padding entries, which are false.

    For every receipt (querier, items, true hits, padding hits): world A reports the true
    hits; world B also reports the padding hits, which the querier disputes and an
    observer upholds; world C reports them and nobody objects. If a padding hit is
    caught (disputed and upheld) with probability ρ, padding changes m1's expected
    credit by E(ρ) = ρ·(B − A) + (1 − ρ)·(C − A). Caught, padding costs (B <= A); at
    ρ = 1/2 it never pays, because γ >= β·max w/1000 and γ is whole; and at the exact
    break-even rate ρ* = β·max w / (β·max w + 1000·γ), it gains less than the rounding
    of one milli-credit per padded receipt (each receipt's hit reward is rounded down
    once, so adding hits to one can add up to ⌈c·pads⌉ rather than c·pads)."""
    params = {**params, "credits.overdraft": 10**12, "credits.dispute_open_ms": 0}

    def world(mode: str) -> int:
        net = _net(params)
        for lt in LTS:
            net.publish("m1", lt, evidence_root=EVIDENCE_ROOT)
            net.publish("m0", lt, evidence_root=EVIDENCE_ROOT)
            net.publish("m2", lt, evidence_root=EVIDENCE_ROOT)
        t = T0 + 1
        for querier, items, true, pads in queries:
            true, pads = min(true, items), min(pads, items - min(true, items))
            shown = true + (pads if mode != "A" else 0)
            rid = net.query(querier, "m1", LTS[2], items, t)
            if shown:
                net.apply(querier, "credits.hits", {"items": [[rid]] * shown}, t)
            if mode == "B" and pads:
                hits = list(range(true, true + pads))
                body = {"receipt": rid, "action": "dispute", "hits": hits}
                net.apply(querier, "credits.feedback", body, t)
                net.apply("obs", "credits.resolve", {"dispute": rid, "verdict": "upheld"}, t)
        net.settle()
        return net.balance("m1")

    a, b, c = world("A"), world("B"), world("C")
    assert b <= a
    assert (b - a) + (c - a) <= 0
    beta_w = params["credits.hit_reward"] * max(params["credits.hit_weight"].values())
    # No hit can pay when β·max w = 0: then padding cannot pay at any rate (ρ* = 0).
    rho = Fraction(beta_w, beta_w + 1000 * params["credits.penalty"]) if beta_w else Fraction(0)
    padded = sum(1 for _, items, true, pads in queries if min(pads, items - min(true, items)))
    assert rho <= Fraction(1, 2)
    if padded:
        assert rho * (b - a) + (1 - rho) * (c - a) < (1 - rho) * padded
    else:
        assert a == b == c


def test_a_pair_can_end_richer_later_when_decay_or_the_cap_would_have_burned_the_credit() -> None:
    """What the pair property does not claim, shown. m0 publishes three list types and
    sits at the cap; m1 publishes one and sits below it. m0 buys 2 items from m1: through
    the settlement that accounts it the pair is poorer (−2000 + 1000 served), as the
    constraint makes every query; one settlement later m0's grant has refilled it to
    the cap while m1 still holds half its reward, so the pair is 500 richer than if
    nobody had queried — credit the cap would have burned cost m0 nothing to spend."""
    params: dict[str, Any] = {
        "credits.price": {lt: 1000 for lt in LTS},
        "credits.hit_weight": {lt: 0 for lt in LTS},
        "credits.serve_reward": 500,
        "credits.hit_reward": 0,
        "credits.grant": 1000,
        "credits.cap": 3000,
        "credits.decay": [1, 2],
        "credits.serve_cap": 10,
    }

    def world(query: bool) -> list[int]:
        net = Net(members=["m0", "m1"], observers=("obs",), overrides=params)
        for lt in LTS:
            net.publish("m0", lt)
        net.publish("m1", LTS[0])
        for _ in range(15):  # to the fixed points: m0 at the cap, 3000; m1 at 1999
            net.settle()
        now = net.last_time
        if query:
            net.query("m0", "m1", LTS[0], 2, now)
        while last_settled(net.state) < (now - T0) // DAY:  # the settlement accounting it
            net.settle()
        out = [net.balance("m0") + net.balance("m1")]
        net.settle()  # and the next
        return [*out, net.balance("m0") + net.balance("m1")]

    assert world(False) == [4999, 4999]
    assert world(True) == [3999, 5499]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(credit_params(), ops(6))
def test_the_shares_credited_for_each_hit_sum_to_exactly_one(
    params: dict[str, Any], workload: list[Any]
) -> None:
    """Six members, so a broadcast hit can have up to five yes-sayers. Every settlement's
    hit payments (``hit_payments``, what ``compute_settlement`` weights and rounds) are
    recorded per copy of a hit; once everything has settled, each copy that stayed paid
    was credited once at 1/k, the others never, and a hit paid on all k copies shares out
    exactly one — before quality weighting and rounding (``Sim._hit_rewards`` checks
    those: each payment is rounded down once, and the residue is minted to nobody)."""
    params["credits.overdraft"] = 10**12  # so queries are admitted and hits reported
    net = _net(params, n=6)
    for member in net.members:
        for lt in LTS:
            net.publish(member, lt, evidence_root=EVIDENCE_ROOT)
    sim = Sim(net, now=T0 + 1)
    for op in workload:
        sim.run(op)
    sim.advance(sim.now + 4 * DAY)
    sim.finish()
    assert sim.payments == 0 or sim.credited


def test_a_broadcast_hit_is_split_in_thirds_and_rounded_down_per_payment() -> None:
    """Three responders say yes to one identifier: each payment is 1/3 of β·q·w/1000.
    With β = 1000, w = 1000 ‰ and q = 1, each is ⌊1000/3⌋ = 333: 999 milli-credits are
    minted for the hit, the remaining 1 (a third per payment) is minted to nobody, and
    Σ balances still equals minted − burned − penalties exactly."""
    params: dict[str, Any] = {
        "credits.hit_reward": 1000,
        "credits.penalty": 1000,
        "credits.serve_reward": 0,
        "credits.grant": 0,
        "credits.quality_prior": [1, 0],  # q = 1 for everyone
        "credits.price": {lt: 2000 for lt in LTS},
        "credits.hit_weight": {lt: 1000 for lt in LTS},
    }
    net = Net(members=["m0", "m1", "m2", "m3"], observers=("obs",), overrides=params)
    for m in net.members:
        net.publish(m, LTS[0])
    rids = [net.query("m0", r, LTS[0], 1, T0 + 1) for r in ("m1", "m2", "m3")]
    net.apply("m0", "credits.hits", {"items": [rids]}, T0 + 1)
    payments = hit_payments(net.state, 0)
    assert [p.shares for p in payments] == [(Fraction(1, 3),)] * 3
    assert sum((s for p in payments for s in p.shares), Fraction(0)) == 1
    body = net.settle()
    assert {e["member"]: e["hits"] for e in body["entries"] if e["hits"]} == {
        "m1": 333,
        "m2": 333,
        "m3": 333,
    }
    assert sum(net.balance(m) for m in net.members) == -3 * 2000 + 999
    assert net.conservation_gap() == 0
