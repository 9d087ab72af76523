"""Transactions of legs, party sets, rules as data, invariants and the oracle.

Through ``_net.Net`` (real contracts, real keys): every refusal is precise and leaves
the state exactly as it was (``Net.refused`` compares every table before and after).

- Delivery versus payment (``dvp_example``): three legs on two instruments and two
  owners settle atomically; if any leg's own machine refuses, nothing moves; the price
  band is a rule parameter read against the oracle's signed observation.
- A syndicate (defined here): lenders as a weighted party set; a waiver needs two
  thirds of the commitments; a distribution is allocated pro rata with the largest
  remainder; interest accrues by day count; the rule parameters change only with every
  party's signature; once the missed-payment trigger holds, the next step must be
  acceleration.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from ledger import ContractError, MemoryState, TxContext
from scenarios.kit import (
    ANYONE,
    NEW,
    TWO_THIRDS,
    Accrue,
    Allocate,
    Date,
    DayCount,
    Holdings,
    Int,
    Leg,
    Machine,
    MapOf,
    Member,
    Mint,
    PartySet,
    Primitive,
    Rate,
    Schema,
    SetAttr,
    SetParty,
    SetRules,
    SetState,
    Transition,
    View,
    amend_rules,
    build_contract,
    limit,
    sign_observation,
    trigger_first,
    tx_digest,
    tx_message,
)
from tests.scenarios import dvp_example as dvp
from tests.scenarios._net import CHAIN, Net

T, S, INS = dvp.TRADES, dvp.INSTRUCTIONS, dvp.INSTRUMENTS


@pytest.fixture
def market() -> Net:
    members = dict.fromkeys(["issuer", "cashbank", "seller", "buyer", "exchange"], "member")
    net = Net(members, [dvp.SCENARIO.contract])
    net.state.put("gov.params", "dvp.oracle", "exchange")
    net.step(INS, "issuer", "create", "ACME")
    net.step(INS, "issuer", "issue", "ACME", {"to": "seller", "qty": 1_000})
    net.step(INS, "cashbank", "create", "USD")
    net.step(INS, "cashbank", "issue", "USD", {"to": "buyer", "qty": 200_000})
    trade = {
        "buyer": "buyer",
        "security": "ACME",
        "qty": 100,
        "cash": "USD",
        "price": 1250,
        "trade_date": "2025-01-06",
        "tolerance_bps": 50,
    }
    net.step(T, "seller", "propose", "T1", trade)
    net.step(T, "buyer", "match", "T1")
    net.step(
        S,
        "seller",
        "instruct",
        "D1",
        {"receiver": "buyer", "instrument": "ACME", "qty": 100, "trade": "T1"},
    )
    net.step(
        S,
        "buyer",
        "instruct",
        "P1",
        {"receiver": "seller", "instrument": "USD", "qty": 125_000, "trade": "T1"},
    )
    net.step(S, "seller", "allocate", "D1")
    return net


def observe(net: Net, price: int, member: str = "exchange", signer: str = "exchange") -> None:
    signature = sign_observation(net.keys[signer], CHAIN, "dvp", "ACME", "2025-01-06", price, 2)
    body = {
        "series": "ACME",
        "as_of": "2025-01-06",
        "value": price,
        "scale": 2,
        "signature": signature,
    }
    net.submit(member, "dvp.observe", body)


def settlement(net: Net) -> list[Leg]:
    return [
        net.leg(T, "settle", "T1", {"delivery": "D1", "payment": "P1"}),
        net.leg(S, "settle_instruction", "D1"),
        net.leg(S, "settle_instruction", "P1"),
    ]


def test_delivery_versus_payment_is_one_transaction_refused_whole(market: Net) -> None:
    holdings = Holdings("dvp")
    # The buyer never locked its cash: the payment leg's own machine refuses, and the
    # delivery leg (valid on its own) does not happen either.
    market.refused(
        "settle_instruction is not allowed when instruction 'P1' is PENDING",
        market.tx,
        "dvp",
        "buyer",
        settlement(market),
        ["seller"],
    )
    assert holdings.locked(market.state, "ACME", "seller", "D1") == 100
    market.step(S, "buyer", "allocate", "P1")
    # Both parties must sign: the seller's delivery, the buyer's payment, the trade.
    market.refused("needs the signature of", market.tx, "dvp", "buyer", settlement(market))
    market.refused(
        "is not a party", market.tx, "dvp", "buyer", settlement(market), ["seller", "issuer"]
    )
    # Settling the trade without its instructions settling in the same transaction.
    market.refused(
        "both_legs_settle", market.tx, "dvp", "buyer", settlement(market)[:2], ["seller"]
    )
    observe(market, 1260)  # the oracle's 12.60; the trade's 12.50 is 79 bp off, over 50
    market.refused("price_near_oracle", market.tx, "dvp", "buyer", settlement(market), ["seller"])
    # The parties agree a wider band (both sign), and settle.
    amend = market.leg(T, "amend_rules", "T1", {"params": {"tolerance_bps": 100}})
    market.refused("needs the signature of seller 'seller'", market.tx, "dvp", "buyer", [amend])
    market.tx("dvp", "buyer", [amend], ["seller"])
    market.tx("dvp", "buyer", settlement(market), ["seller"])
    assert [S.load(market.state, i).state for i in ("D1", "P1")] == ["SETTLED", "SETTLED"]
    assert T.load(market.state, "T1").attrs["rules"] == {
        "version": 2,
        "params": {"tolerance_bps": 100},
    }
    assert holdings.balance(market.state, "ACME", "buyer") == 100
    assert holdings.balance(market.state, "USD", "seller") == 125_000
    for instrument, minted in (("ACME", 1_000), ("USD", 200_000)):
        supply = holdings.audit(market.state, instrument)
        assert (supply.minted, supply.outstanding) == (minted, minted)
    # Every leg has its event, each signed by both.
    for machine, ident in ((T, "T1"), (S, "D1"), (S, "P1")):
        last = machine.events(market.state, ident)[-1]
        assert last.signers == ("buyer", "seller") and last.transition == (
            "settle" if machine is T else "settle_instruction"
        )


def test_the_oracle_alone_records_signed_observations(market: Net) -> None:
    market.refused(
        "only the oracle 'exchange'", observe, market, 1250, member="seller", signer="seller"
    )
    market.refused("bad signature by 'exchange'", observe, market, 1250, signer="seller")
    observe(market, 1250)
    market.refused("already observed", observe, market, 1251)
    row = market.state.get("dvp.observations", "ACME@2025-01-06")
    assert isinstance(row, dict) and (row["value"], row["oracle"]) == (1250, "exchange")


def test_one_leg_and_a_tx_of_that_leg_are_the_same_approval() -> None:
    leg = dvp.SCENARIO.contract  # a contract is enough for the message's name
    assert leg.name == "dvp"
    one = Leg("trade", "T1", 2, "settle", {"delivery": "D1", "payment": "P1"})
    other = Leg("trade", "T1", 2, "settle", {"delivery": "D1", "payment": "P2"})
    assert tx_message(CHAIN, "dvp", [one]) != tx_message(CHAIN, "dvp", [other])
    assert tx_digest(tx_message(CHAIN, "dvp", [one])) != tx_digest(tx_message(b"", "dvp", [one]))


# A syndicate, declared here ----------------------------------------------------------------


def _sign(v: View) -> Iterable[Primitive]:
    yield SetParty("agent", v.actor)
    yield SetParty("lenders", PartySet.weighted(v.payload["commitments"], TWO_THIRDS))
    yield SetRules({"max_draw": v.payload["max_draw"], "missed_limit": 2})
    yield SetAttr("missed", 0)


def _distribute(v: View) -> Iterable[Primitive]:
    lenders = v.before.sets["lenders"]
    weights = tuple(zip(lenders.members, lenders.weights, strict=True))
    yield Allocate(v.payload["amount"], "USD", v.actor, weights, attr="last_distribution")


def _miss(v: View) -> Iterable[Primitive]:
    yield SetAttr("missed", v.before.attrs["missed"] + 1)


def _accrue(v: View) -> Iterable[Primitive]:
    p = v.payload
    yield Accrue(
        "accrued", p["principal"], Rate.bps(p["bps"]), DayCount.ACT_360, p["start"], p["end"]
    )


def _fund(v: View) -> Iterable[Primitive]:
    yield Mint(v.payload["amount"], "USD", v.actor)


def _waive(v: View) -> Iterable[Primitive]:
    yield SetAttr("missed", 0)


def _accelerate(v: View) -> Iterable[Primitive]:
    yield SetState("ACCELERATED")


_ACTIVE = frozenset({"ACTIVE"})
FACILITIES = Machine(
    "syn",
    "facility",
    [
        Transition(
            "sign",
            frozenset({NEW}),
            _ACTIVE,
            frozenset({"agent"}),
            Schema({"commitments": MapOf(Int(1, 10**12)), "max_draw": Int(1, 10**12)}),
            _sign,
        ),
        Transition(
            "fund",
            _ACTIVE,
            _ACTIVE,
            frozenset({"agent"}),
            Schema({"amount": Int(1, 10**12)}),
            _fund,
        ),
        Transition(
            "distribute",
            _ACTIVE,
            _ACTIVE,
            frozenset({"agent"}),
            Schema({"amount": Int(1, 10**12)}),
            _distribute,
            (limit("within_max_draw", lambda p: p.payload["amount"], "max_draw"),),
        ),
        Transition(
            "accrue",
            _ACTIVE,
            _ACTIVE,
            frozenset({"agent"}),
            Schema({"principal": Int(), "bps": Int(0, 10_000), "start": Date(), "end": Date()}),
            _accrue,
        ),
        Transition("miss", _ACTIVE, _ACTIVE, frozenset({ANYONE}), effect=_miss),
        Transition(
            "waive",
            _ACTIVE,
            _ACTIVE,
            frozenset({"agent"}),
            effect=_waive,
            required_signers=frozenset({"lenders"}),
        ),
        Transition(
            "accelerate",
            _ACTIVE,
            frozenset({"ACCELERATED"}),
            frozenset({ANYONE}),
            effect=_accelerate,
        ),
        Transition(
            "sneak",
            _ACTIVE,
            _ACTIVE,
            frozenset({"agent"}),
            effect=lambda v: (SetRules({"max_draw": 1, "missed_limit": 9}),),
        ),
        amend_rules(
            Schema({"max_draw": Int(1, 10**12), "missed_limit": Int(1, 99)}),
            roles=frozenset({"agent", "lenders"}),
            from_states=_ACTIVE,
        ),
        Transition(
            "join",
            _ACTIVE,
            _ACTIVE,
            frozenset({"agent"}),
            Schema({"lender": Member()}),
            lambda v: (SetParty("observer", v.payload["lender"]),),
        ),
    ],
    invariants=(
        trigger_first(
            "missed_payments",
            lambda obj, p: obj.attrs["missed"] >= p.params.get("missed_limit", 99),
            "accelerate",
        ),
    ),
    rules_schema=Schema({"max_draw": Int(1, 10**12), "missed_limit": Int(1, 99)}),
)
SYN = build_contract("syn", [FACILITIES])


@pytest.fixture
def syndicate() -> Net:
    net = Net(dict.fromkeys(["agent", "a", "b", "c", "outsider"], "member"), [SYN])
    commitments = {"a": 50_000, "b": 30_000, "c": 20_000}
    net.step(FACILITIES, "agent", "sign", "F1", {"commitments": commitments, "max_draw": 1_500_000})
    net.step(FACILITIES, "agent", "fund", "F1", {"amount": 1_000_001})
    return net


def test_a_waiver_needs_two_thirds_of_the_commitments(syndicate: Net) -> None:
    step = syndicate.step
    syndicate.refused(
        r"quorum not reached: waive needs ≥ 2/3 by weight of \['a', 'b', 'c'\] "
        r"\(signed weight 50000 of 100000\) as lenders",
        step,
        FACILITIES,
        "agent",
        "waive",
        "F1",
        cosigners=["a"],
    )
    syndicate.refused(
        "quorum not reached", step, FACILITIES, "agent", "waive", "F1", cosigners=["b", "c"]
    )
    syndicate.refused(
        "is not a party", step, FACILITIES, "agent", "waive", "F1", cosigners=["a", "outsider"]
    )
    step(FACILITIES, "agent", "waive", "F1", cosigners=["a", "c"])  # 70 %
    assert FACILITIES.events(syndicate.state, "F1")[-1].signers == ("a", "agent", "c")


def test_a_distribution_is_pro_rata_to_the_cent(syndicate: Net) -> None:
    holdings = Holdings("syn")
    syndicate.step(FACILITIES, "agent", "distribute", "F1", {"amount": 1_000_001})
    parts = FACILITIES.load(syndicate.state, "F1").attrs["last_distribution"]
    assert parts == {"a": 500_001, "b": 300_000, "c": 200_000}
    assert sum(parts.values()) == 1_000_001
    assert holdings.audit(syndicate.state, "USD").outstanding == 1_000_001
    # Over the agreed limit: refused, nothing moves.
    syndicate.step(FACILITIES, "agent", "fund", "F1", {"amount": 2_000_000})
    syndicate.refused(
        "within_max_draw: exceeds the agreed limit max_draw",
        syndicate.step,
        FACILITIES,
        "agent",
        "distribute",
        "F1",
        {"amount": 1_500_001},
    )


def test_interest_accrues_by_day_count(syndicate: Net) -> None:
    payload = {"principal": 100_000_000_00, "bps": 435, "start": "2025-01-15", "end": "2025-07-15"}
    syndicate.step(FACILITIES, "agent", "accrue", "F1", payload)
    # 100,000,000.00 × 4.35 % × 181/360 = 2,187,083.33
    assert FACILITIES.load(syndicate.state, "F1").attrs["accrued"] == 2_187_083_33


def test_rule_parameters_change_only_with_every_party(syndicate: Net) -> None:
    step = syndicate.step
    amend = {"params": {"max_draw": 5, "missed_limit": 3}}
    syndicate.refused(
        "quorum not reached", step, FACILITIES, "agent", "amend_rules", "F1", amend, cosigners=["b"]
    )
    syndicate.refused(
        "rule parameters change only with every party's signature",
        step,
        FACILITIES,
        "agent",
        "sneak",
        "F1",
    )
    syndicate.refused(
        "params: missed_limit must be between 1 and 99",
        step,
        FACILITIES,
        "agent",
        "amend_rules",
        "F1",
        {"params": {"max_draw": 5, "missed_limit": 0}},
        cosigners=["a", "b"],
    )
    step(FACILITIES, "agent", "amend_rules", "F1", amend, cosigners=["a", "b"])
    rules = FACILITIES.load(syndicate.state, "F1").attrs["rules"]
    assert rules == {"version": 2, "params": {"max_draw": 5, "missed_limit": 3}}


def test_once_the_trigger_holds_the_next_step_is_the_trigger(syndicate: Net) -> None:
    step = syndicate.step
    step(FACILITIES, "outsider", "miss", "F1")
    step(FACILITIES, "agent", "distribute", "F1", {"amount": 10})
    step(FACILITIES, "b", "miss", "F1")  # two missed: the limit
    for name, payload in (("distribute", {"amount": 10}), ("miss", {})):
        syndicate.refused(
            "missed_payments: a trigger holds: the next step must be accelerate",
            step,
            FACILITIES,
            "agent",
            name,
            "F1",
            payload,
        )
    # Not even a waiver by the lenders can suppress it.
    syndicate.refused(
        "a trigger holds", step, FACILITIES, "agent", "waive", "F1", cosigners=["a", "b", "c"]
    )
    step(FACILITIES, "c", "accelerate", "F1")
    assert FACILITIES.load(syndicate.state, "F1").state == "ACCELERATED"


def test_a_new_party_must_be_an_active_member(syndicate: Net) -> None:
    syndicate.add_member("gone", "member", status="removed")
    syndicate.refused(
        "observer 'gone' is not an active member",
        syndicate.step,
        FACILITIES,
        "agent",
        "join",
        "F1",
        {"lender": "gone"},
    )


def test_the_catalogue_reads_the_agreed_parameters() -> None:
    from scenarios.kit import Obj, Post, at_least, eligible, evaluate, matches, within_tolerance

    rules = [
        eligible("eligible_asset", lambda p: p.payload["asset"], "assets"),
        at_least("min_rating", lambda p: p.payload["rating"], "min_rating"),
        within_tolerance(
            "invoice_matches_credit",
            lambda p: p.payload["invoice"],
            lambda p: p.after.attrs["amount"],
            "tolerance_bps",
        ),
        matches(
            "same_port",
            lambda p: p.payload["port"],
            lambda p: p.after.attrs["port"],
            "the port of loading",
        ),
    ]
    params = {"assets": ["bond", "cash"], "min_rating": 3, "tolerance_bps": 500}
    lc = Obj(
        "LC1",
        "lc",
        "OPERATIVE",
        2,
        {},
        b"",
        {"amount": 100_000, "port": "CNSHA", "rules": {"version": 1, "params": params}},
    )
    ctx = TxContext(b"", "x.y", "m", "member", 1, 0, {}, 1, 0)

    def check(**payload: object) -> list[str]:
        full = {"asset": "bond", "rating": 3, "invoice": 104_999, "port": "CNSHA", **payload}
        return evaluate(rules, Post(lc, lc, full, ctx, MemoryState()))

    assert check() == []
    changes: list[tuple[dict[str, object], str]] = [
        ({"asset": "equity"}, "eligible_asset: is not among the eligible assets"),
        ({"rating": 2}, "min_rating: is below the agreed minimum min_rating"),
        ({"invoice": 105_001}, "invoice_matches_credit: differs by more than the agreed"),
        ({"port": "USNYC"}, "same_port: the documents disagree on the port of loading"),
    ]
    for change, reason in changes:
        with pytest.raises(ContractError, match=reason):
            check(**change)
    # A parameter nobody agreed is not in force: without a tolerance, amounts must match.
    bare = Obj("LC2", "lc", "OPERATIVE", 2, {}, b"", {"amount": 100_000, "port": "CNSHA"})
    post = Post(
        bare,
        bare,
        {"asset": "x", "rating": 0, "invoice": 100_000, "port": "CNSHA"},
        ctx,
        MemoryState(),
    )
    assert evaluate(rules, post) == []
