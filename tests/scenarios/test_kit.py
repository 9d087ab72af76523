"""The reusable pieces on their own, hostile bodies, and the scenario registration."""

from __future__ import annotations

import contextlib
import copy
import hashlib
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scenarios
from ledger import ContractError, TxContext, default_registry
from scenarios import (
    RESERVED_COMMANDS,
    Scenario,
    ScenarioError,
    all_contracts,
    all_scenarios,
    get_scenario,
)
from scenarios.kit import (
    NEW,
    Date,
    Int,
    ListOf,
    Machine,
    Obj,
    Post,
    Rule,
    Schema,
    Severity,
    Str,
    Transition,
    add_months,
    build_contract,
    evaluate,
)
from tests.scenarios import ebl_example
from tests.scenarios._net import Net

_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.text(max_size=12)
    | st.binary(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


def test_schema_refuses_unknown_missing_and_mistyped_fields() -> None:
    schema = Schema(
        {
            "n": Int(1, 9),
            "d": Date(),
            "xs": ListOf(Str(), 1, 2, unique=True),
            "o": Str(required=False),
        }
    )
    good = {"n": 3, "d": "2025-01-31", "xs": ["a"]}
    assert schema.check(good) == good
    for bad, reason in [
        ({**good, "extra": 1}, "unknown payload fields"),
        ({"d": "2025-01-31", "xs": ["a"]}, "'n' is required"),
        ({**good, "n": True}, "n must be an integer"),
        ({**good, "n": 10}, "between 1 and 9"),
        ({**good, "d": "2025-02-30"}, "date"),
        ({**good, "d": "2025-1-3"}, "date"),
        ({**good, "xs": ["a", "a"]}, "must not repeat"),
        ({**good, "xs": []}, "1 to 2"),
        ({**good, "o": "a b"}, "must match"),
        ([1], "must be a map"),
    ]:
        with pytest.raises(ContractError, match=reason):
            schema.check(bad)


@given(st.dictionaries(st.sampled_from(["n", "d", "xs", "o", "z"]), _values, max_size=5))
def test_schema_accepts_or_raises_contract_error(payload: dict[str, Any]) -> None:
    schema = Schema(
        {"n": Int(1, 9), "d": Date(), "xs": ListOf(Str(), 1, 2), "o": Str(required=False)}
    )
    with contextlib.suppress(ContractError):
        schema.check(payload)


_NET = Net(
    {"a": "member", "b": "member", "obs": "observer"},
    [c for c in all_contracts() if c.name != "fpreg"],
)
_KINDS = sorted(_NET.registry.kinds)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(_KINDS),
    member=st.sampled_from(["a", "b", "obs"]),
    body=st.one_of(
        st.dictionaries(
            st.sampled_from(["object", "version", "payload", "cosigs", "x"]), _values, max_size=4
        ),
        st.fixed_dictionaries(
            {
                "object": st.sampled_from(["C1", "C1.1", "A1", "A1~B1", "new"]),
                "version": st.integers(0, 3),
            },
            optional={
                "payload": st.dictionaries(st.text(max_size=10), _values, max_size=6),
                "cosigs": st.dictionaries(
                    st.sampled_from(["a", "b", "obs"]), st.binary(max_size=70), max_size=2
                ),
            },
        ),
        st.dictionaries(st.sampled_from(["request", "receipt", "public_key"]), _values, max_size=3),
    ),
)
def test_hostile_bodies_raise_contract_error_and_change_nothing(
    kind: str, member: str, body: dict[str, Any]
) -> None:
    before = copy.deepcopy(_NET.state.tables())
    contract = _NET.registry.contract_for(kind)
    if contract.parties is not None and contract.name != "fpreg":
        assert all(isinstance(m, str) for m in contract.parties(kind, body))
    row = _NET.state.get("gov.members", member)
    assert isinstance(row, dict)
    ctx = TxContext(b"\0" * 32, kind, member, row["role"], 1, _NET.now, body, 1, _NET.now)
    try:
        _NET.registry.apply(_NET.state, ctx)
    except ContractError:
        assert _NET.state.tables() == before
    else:
        # A random body may be a valid step (an observer marking nothing overdue cannot);
        # if it applied, undo it so every example starts from the same state.
        _NET.state = type(_NET.state)(before)


def test_parties_name_the_members_a_step_is_about() -> None:
    scf = get_scenario("scf").contract
    assert scf.parties is not None
    body = {
        "object": "C1",
        "version": 2,
        "payload": {"to": "sub", "amount": 1},
        "cosigs": {"bank": b""},
    }
    assert scf.parties("scf.transfer", body) == ["bank", "sub"]
    assert scf.parties("scf.accept", {"object": "C1", "version": 1}) == []


def test_add_months_clamps_to_the_month() -> None:
    assert add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)
    assert add_months(date(2023, 8, 31), 6) == date(2024, 2, 29)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2025, 1, 15), -1) == date(2024, 12, 15)


def test_rules_report_every_blocking_violation_and_return_review_flags() -> None:
    obj = Obj("x", "t", "S", 1, {}, b"", {"n": 5})
    ctx = TxContext(b"", "k.x", "m", "member", 1, 0, {}, 1, 0)
    post = Post(obj, obj, {}, ctx, _NET.state)
    rules = [
        Rule("small", lambda p: p.after.attrs["n"] < 3, "n too big"),
        Rule("even", lambda p: p.after.attrs["n"] % 2 == 0, "n odd"),
        Rule("soft", lambda p: False, "look at it", Severity.REVIEW),
    ]
    with pytest.raises(ContractError, match="small: n too big; even: n odd"):
        evaluate(rules, post)
    assert evaluate(rules[2:], post) == ["soft"]


def test_definitions_are_checked() -> None:
    t = Transition("go", frozenset({NEW}), frozenset({"A"}), frozenset({"owner"}))
    with pytest.raises(ScenarioError):
        Machine("c", "x", [t, t])
    with pytest.raises(ScenarioError):
        build_contract("d", [Machine("c", "x", [t])])
    with pytest.raises(ScenarioError):
        build_contract("c", [Machine("c", "x", [t]), Machine("c", "y", [t])])
    with pytest.raises(ScenarioError):
        Transition("go", frozenset({NEW}), frozenset(), frozenset({"owner"}))


def test_a_transition_may_not_shadow_a_generated_command() -> None:
    # Every generated group has ``approve`` (a transaction's digest); a transition named
    # so would never be reachable from the command line, so registration refuses it.
    def scenario(*transitions: Transition) -> Scenario:
        machine = Machine("z", "x", transitions)
        return Scenario("z", "Z", "-", build_contract("z", [machine]), (machine,))

    approve = Transition("approve", frozenset({NEW}), frozenset({"A"}), frozenset({"owner"}))
    with pytest.raises(ScenarioError, match=r"commands \['approve'\] are the generated"):
        scenario(approve).check()
    renamed = Transition(
        "approve", frozenset({NEW}), frozenset({"A"}), frozenset({"owner"}), command="ok"
    )
    twice = Transition("go", frozenset({"A"}), frozenset({"A"}), frozenset({"owner"}), command="ok")
    with pytest.raises(ScenarioError, match=r"\['ok'\]"):
        scenario(renamed, twice).check()
    scenario(renamed).check()
    assert "approve" in RESERVED_COMMANDS


def test_registered_scenarios_join_the_ledger_registry() -> None:
    names = [s.name for s in all_scenarios()]
    assert names[:2] == ["scf", "tf"]
    assert {"syndicate", "equity", "abs", "ins", "lc", "cust"} <= set(names)
    assert [c.name for c in all_contracts()] == ["fpreg", *names]
    assert get_scenario("tf").spec == "SCENARIOS.md §7"
    with pytest.raises(ScenarioError):
        get_scenario("nope")
    assert scenarios.machine_for("tf.resolve_alert").type == "alert"
    assert scenarios.machine_for("scf.redeem").type == "certificate"
    with pytest.raises(ScenarioError):
        scenarios.machine_for("fpreg.set_key")
    registry = default_registry(all_contracts())
    assert {"scf.issue", "tf.register", "tf.resolve_alert", "fpreg.set_key"} <= registry.kinds


def test_a_third_scenario_needs_only_its_module_and_one_registration_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        scenarios._registry,
        "SCENARIO_MODULES",
        (*scenarios.SCENARIO_MODULES, "tests.scenarios.ebl_example"),
    )
    assert [c.name for c in all_contracts()][:3] == ["fpreg", "scf", "tf"]
    assert all_contracts()[-1].name == "ebl"
    net = Net({"carrier": "member", "shipper": "member", "bank": "member"}, all_contracts()[1:])
    bills = ebl_example.BILLS
    net.step(
        bills,
        "carrier",
        "issue",
        "BL1",
        {"shipper": "shipper", "doc_hash": hashlib.sha256(b"bl").digest()},
    )
    net.refused("only the holder", net.step, bills, "carrier", "endorse", "BL1", {"to": "bank"})
    net.step(bills, "shipper", "endorse", "BL1", {"to": "bank"})
    net.refused("needs the signature of carrier", net.step, bills, "bank", "surrender", "BL1")
    net.step(bills, "bank", "surrender", "BL1", cosigners=["carrier"])
    assert [e.transition for e in bills.events(net.state, "BL1")] == [
        "issue",
        "endorse",
        "surrender",
    ]
    monkeypatch.setattr(scenarios._registry, "SCENARIO_MODULES", ("scenarios.scf", "scenarios.scf"))
    with pytest.raises(ScenarioError, match="registered twice"):
        all_scenarios()
